using System.Security.Cryptography;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Keys;

/// <summary>
/// The symmetric key that encrypts the tokens this server issues to itself (authorization codes, refresh tokens, device and
/// user codes: JWE with AES key wrap, RFC 7516 / RFC 7518 §4.4). Those tokens are reference tokens: clients hold a random
/// identifier and the encrypted payload stays in the database, so the key protects it at rest. One key is made on first start,
/// under the signing-key lease so nodes sharing a database make one, and is kept protected with ASP.NET Data Protection (table
/// <c>TokenEncryptionKeys</c>). It is not rotated: nothing it encrypts lives longer than a refresh token's absolute lifetime.
/// </summary>
public sealed class TokenEncryptionKeys(IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, TimeProvider time)
{
    private const string Purpose = "IdentityServer.TokenEncryptionKeys.v1";
    private const string LeaseName = "signing-keys";

    /// <summary>Creates the key if the database has none yet. Runs at start-up, after migrations.</summary>
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

    /// <summary>The keys, newest first (the first encrypts, all decrypt). Empty before <see cref="EnsureAsync"/> ran.</summary>
    public IReadOnlyList<SymmetricSecurityKey> Load()
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var protector = dataProtection.CreateProtector(Purpose);
        return db.TokenEncryptionKeys.AsNoTracking().ToList().OrderByDescending(k => k.CreatedAt)
            .Select(k => new SymmetricSecurityKey(protector.Unprotect(Convert.FromBase64String(k.ProtectedKey))) { KeyId = k.Id })
            .ToList();
    }
}
