using System.Security.Cryptography;
using System.Text.Json;
using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Keys;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Data.Stores;

/// <summary>
/// Signing keys in the database: RSA-2048 / RS256, private part as PKCS#8 protected with ASP.NET Data
/// Protection, public part as a JWK (RFC 7517 §4, RFC 7518 §6.3). The first key is created on first use.
/// Keys are cached in memory and re-read every <see cref="RefreshInterval"/> so keys another node adds appear.
/// </summary>
public sealed class DbSigningKeyStore(IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, TimeProvider time, ILogger<DbSigningKeyStore> logger) : ISigningKeyStore
{
    /// <summary>How long loaded keys are trusted before the table is read again (5 minutes).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(5);

    private const string Purpose = "IdentityServer.SigningKeys.v1";
    private readonly SemaphoreSlim _lock = new(1, 1);
    private Snapshot? _snapshot;

    private sealed record Snapshot(SigningCredentials Signing, IReadOnlyList<JsonWebKey> Published, DateTimeOffset LoadedAt);

    /// <inheritdoc />
    public async Task<SigningCredentials> GetSigningCredentialsAsync(CancellationToken ct = default) => (await GetSnapshotAsync(ct)).Signing;

    /// <inheritdoc />
    public async Task<IReadOnlyList<JsonWebKey>> GetPublishedKeysAsync(CancellationToken ct = default) => (await GetSnapshotAsync(ct)).Published;

    private async Task<Snapshot> GetSnapshotAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_snapshot is { } s && now - s.LoadedAt < RefreshInterval) return s;
        await _lock.WaitAsync(ct);
        try
        {
            if (_snapshot is { } again && now - again.LoadedAt < RefreshInterval) return again;
            _snapshot = await LoadAsync(now, ct);
            return _snapshot;
        }
        finally { _lock.Release(); }
    }

    private async Task<Snapshot> LoadAsync(DateTimeOffset now, CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var keys = await db.SigningKeys.AsNoTracking().ToListAsync(ct);
        var active = keys.Where(k => k.ActivatedAt != null && k.RetiredAt == null).OrderByDescending(k => k.ActivatedAt!.Value.ToUnixTimeMilliseconds()).FirstOrDefault();
        if (active is null)
        {
            active = CreateKey(now);
            db.SigningKeys.Add(active);
            await db.SaveChangesAsync(ct);
            keys.Add(active);
            logger.LogInformation("Created signing key {KeyId} ({Algorithm})", active.Id, active.Algorithm);
        }

        var protector = dataProtection.CreateProtector(Purpose);
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(protector.Unprotect(Convert.FromBase64String(active.ProtectedPrivateKey)), out _);
        var signing = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = active.Id }, SecurityAlgorithms.RsaSha256);
        var published = keys.Select(k => new JsonWebKey(k.PublicJwk)).ToList();
        return new Snapshot(signing, published, now);
    }

    private SigningKeyEntity CreateKey(DateTimeOffset now)
    {
        using var rsa = RSA.Create(2048);
        var kid = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var p = rsa.ExportParameters(false);
        var jwk = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["kty"] = "RSA", ["use"] = "sig", ["alg"] = SecurityAlgorithms.RsaSha256, ["kid"] = kid,
            ["n"] = Base64UrlEncoder.Encode(p.Modulus!), ["e"] = Base64UrlEncoder.Encode(p.Exponent!),
        });
        var protectedKey = dataProtection.CreateProtector(Purpose).Protect(rsa.ExportPkcs8PrivateKey());
        return new SigningKeyEntity
        {
            Id = kid, Algorithm = SecurityAlgorithms.RsaSha256, ProtectedPrivateKey = Convert.ToBase64String(protectedKey),
            PublicJwk = jwk, CreatedAt = now, ActivatedAt = now,
        };
    }
}
