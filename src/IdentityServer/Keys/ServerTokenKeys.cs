using System.Security.Cryptography;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Keys;

/// <summary>
/// The symmetric key of the tokens this server issues to itself (authorization codes, refresh tokens, device and user codes). Those
/// are reference tokens: clients hold a random identifier, and the payload stays in the database as a JWT that is signed (HMAC-SHA256,
/// RFC 7518 §3.2) and then encrypted (AES key wrap with AES-CBC-HMAC, RFC 7518 §4.4 and §5.2). The signing and encryption keys are
/// derived from one stored 256-bit secret with HKDF (RFC 5869), one for each use. These tokens are signed with this key and not with
/// the rotating signing keys of <see cref="ISigningKeyStore"/>: a key leaves JWKS a few days after it retires, and a refresh token
/// signed by it must keep working for its whole life. One secret is made on first start, under the signing-key lease so nodes sharing
/// a database make one, and is kept protected with ASP.NET Data Protection (table <c>TokenEncryptionKeys</c>). It is not rotated.
/// </summary>
public sealed class ServerTokenKeys(IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, TimeProvider time)
{
    private const string Purpose = "IdentityServer.TokenEncryptionKeys.v1";
    private const string LeaseName = "signing-keys";
    private Keys? _keys;

    private sealed record Keys(IReadOnlyList<SymmetricSecurityKey> Encryption, IReadOnlyList<SymmetricSecurityKey> Signing);

    /// <summary>Creates the secret if the database has none yet. Runs at start-up, after migrations.</summary>
    /// <exception cref="TimeoutException">Another node held the key lease for 5 seconds.</exception>
    public async Task EnsureAsync(CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        if (await db.TokenEncryptionKeys.AnyAsync(ct)) return;
        var node = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var now = time.GetUtcNow();
            if (await Lease.TryTakeAsync(db, LeaseName, node, now, now.AddSeconds(30), ct))
            {
                try
                {
                    if (await db.TokenEncryptionKeys.AnyAsync(ct)) return;
                    db.TokenEncryptionKeys.Add(new TokenEncryptionKeyEntity
                    {
                        Id = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
                        ProtectedKey = Convert.ToBase64String(dataProtection.CreateProtector(Purpose).Protect(RandomNumberGenerator.GetBytes(32))),
                        CreatedAt = now,
                    });
                    await db.SaveChangesAsync(ct);
                    return;
                }
                finally
                {
                    await db.Leases.Where(l => l.Name == LeaseName && l.Holder == node)
                        .ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiresAt, DateTimeOffset.UnixEpoch), CancellationToken.None);
                }
            }
            await Task.Delay(100, ct);
        }
        throw new TimeoutException("The signing-key lease stayed taken for 5 seconds.");
    }

    /// <summary>The encryption keys (256 bits each), newest first: the first encrypts, all decrypt. Empty before <see cref="EnsureAsync"/> ran.</summary>
    public IReadOnlyList<SymmetricSecurityKey> EncryptionKeys => Load().Encryption;

    /// <summary>The HMAC-SHA256 signing keys (256 bits each), newest first: the first signs, all validate. Empty before <see cref="EnsureAsync"/> ran.</summary>
    public IReadOnlyList<SymmetricSecurityKey> SigningKeys => Load().Signing;

    private Keys Load()
    {
        if (_keys is { Encryption.Count: > 0 } loaded) return loaded;
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var protector = dataProtection.CreateProtector(Purpose);
        var secrets = db.TokenEncryptionKeys.AsNoTracking().ToList().OrderByDescending(k => k.CreatedAt)
            .Select(k => (k.Id, Secret: protector.Unprotect(Convert.FromBase64String(k.ProtectedKey)))).ToList();
        var keys = new Keys(
            [.. secrets.Select(s => new SymmetricSecurityKey(Derive(s.Secret, "encryption")) { KeyId = s.Id })],
            [.. secrets.Select(s => new SymmetricSecurityKey(Derive(s.Secret, "signing")) { KeyId = s.Id + ".sig" })]);
        return _keys = keys;
    }

    /// <summary>HKDF-SHA256 of the stored secret for one use, 32 bytes.</summary>
    private static byte[] Derive(byte[] secret, string use) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: System.Text.Encoding.ASCII.GetBytes("IdentityServer server tokens: " + use));
}
