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
        if (!keys.Any(IsActive))
        {
            var created = CreateKey(now);
            db.SigningKeys.Add(created);
            await db.SaveChangesAsync(ct);
            logger.LogInformation("Created signing key {KeyId} ({Algorithm})", created.Id, created.Algorithm);
            // Another node may have created one at the same moment: re-read so every node picks the same key.
            keys = await db.SigningKeys.AsNoTracking().ToListAsync(ct);
        }

        // The oldest active key signs: a deterministic choice that nodes racing to create the first key agree on.
        var active = keys.Where(IsActive).OrderBy(k => k.ActivatedAt!.Value.ToUnixTimeMilliseconds()).ThenBy(k => k.Id, StringComparer.Ordinal).First();
        var signing = new SigningCredentials(PrivateKey(active), SecurityAlgorithms.RsaSha256);
        var published = keys.Select(k => new JsonWebKey(k.PublicJwk)).ToList();
        return new Snapshot(signing, published, now);
    }

    private static bool IsActive(SigningKeyEntity k) => k.ActivatedAt != null && k.RetiredAt == null;

    /// <summary>The key's private part, unprotected once per process and reused across reloads (RSA objects are kept, not leaked per reload).</summary>
    private RsaSecurityKey PrivateKey(SigningKeyEntity key)
    {
        if (_snapshot?.Signing.Key is RsaSecurityKey current && current.KeyId == key.Id) return current;
        var rsa = RSA.Create();
        rsa.ImportPkcs8PrivateKey(dataProtection.CreateProtector(Purpose).Unprotect(Convert.FromBase64String(key.ProtectedPrivateKey)), out _);
        return new RsaSecurityKey(rsa) { KeyId = key.Id };
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
