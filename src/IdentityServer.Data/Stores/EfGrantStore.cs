using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Stores;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data.Stores;

/// <summary>
/// Grants and their artefacts in EF Core. Single use is one conditional <c>UPDATE … WHERE … IS NULL</c>
/// through <c>ExecuteUpdateAsync</c>: the database decides the one winner across nodes.
/// </summary>
public sealed class EfGrantStore(IdentityServerDbContext db) : IGrantStore
{
    /// <inheritdoc />
    public async Task CreateGrantAsync(GrantRecord g, CancellationToken ct = default)
    {
        db.Grants.Add(new GrantEntity
        {
            Id = g.Id, SubjectId = g.SubjectId, ClientId = g.ClientId, Scopes = [.. g.Scopes], AuthTime = g.AuthTime,
            Amr = [.. g.Amr], SessionId = g.SessionId, CreatedAt = g.CreatedAt, ExpiresAt = g.ExpiresAt, RevokedAt = g.RevokedAt,
        });
        await SaveAsync(ct);
    }

    /// <inheritdoc />
    public async Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken ct = default)
    {
        var g = await db.Grants.AsNoTracking().FirstOrDefaultAsync(x => x.Id == grantId, ct);
        return g is null ? null : new GrantRecord(g.Id, g.SubjectId, g.ClientId, g.Scopes, g.AuthTime, g.Amr, g.SessionId, g.CreatedAt, g.ExpiresAt, g.RevokedAt);
    }

    /// <inheritdoc />
    public async Task RevokeGrantAsync(string grantId, DateTimeOffset now, CancellationToken ct = default)
    {
        await db.Grants.Where(x => x.Id == grantId && x.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), ct);
        await db.AccessTokens.Where(x => x.GrantId == grantId && x.RevokedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), ct);
    }

    /// <inheritdoc />
    public async Task StoreAuthorizationCodeAsync(AuthorizationCodeRecord c, CancellationToken ct = default)
    {
        db.AuthorizationCodes.Add(new AuthorizationCodeEntity
        {
            CodeHash = c.CodeHash, GrantId = c.GrantId, ClientId = c.ClientId, RedirectUri = c.RedirectUri,
            CodeChallenge = c.CodeChallenge, Nonce = c.Nonce, CreatedAt = c.CreatedAt, ExpiresAt = c.ExpiresAt,
        });
        await SaveAsync(ct);
    }

    /// <inheritdoc />
    public async Task<AuthorizationCodeRecord?> FindAuthorizationCodeAsync(string codeHash, CancellationToken ct = default)
    {
        var c = await db.AuthorizationCodes.AsNoTracking().FirstOrDefaultAsync(x => x.CodeHash == codeHash, ct);
        return c is null ? null : new AuthorizationCodeRecord(c.CodeHash, c.GrantId, c.ClientId, c.RedirectUri, c.CodeChallenge, c.Nonce, c.CreatedAt, c.ExpiresAt, c.RedeemedAt);
    }

    /// <inheritdoc />
    public async Task<bool> TryRedeemAuthorizationCodeAsync(string codeHash, DateTimeOffset now, CancellationToken ct = default) =>
        await db.AuthorizationCodes.Where(x => x.CodeHash == codeHash && x.RedeemedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.RedeemedAt, now), ct) == 1;

    /// <inheritdoc />
    public async Task StoreRefreshTokenAsync(RefreshTokenRecord t, CancellationToken ct = default)
    {
        db.RefreshTokens.Add(new RefreshTokenEntity
        {
            TokenHash = t.TokenHash, GrantId = t.GrantId, ClientId = t.ClientId, CreatedAt = t.CreatedAt, ExpiresAt = t.ExpiresAt,
        });
        await SaveAsync(ct);
    }

    /// <inheritdoc />
    public async Task<RefreshTokenRecord?> FindRefreshTokenAsync(string tokenHash, CancellationToken ct = default)
    {
        var t = await db.RefreshTokens.AsNoTracking().FirstOrDefaultAsync(x => x.TokenHash == tokenHash, ct);
        return t is null ? null : new RefreshTokenRecord(t.TokenHash, t.GrantId, t.ClientId, t.CreatedAt, t.ExpiresAt, t.ConsumedAt);
    }

    /// <inheritdoc />
    public async Task<bool> TryConsumeRefreshTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken ct = default) =>
        await db.RefreshTokens.Where(x => x.TokenHash == tokenHash && x.ConsumedAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.ConsumedAt, now), ct) == 1;

    /// <inheritdoc />
    public async Task StoreAccessTokenAsync(AccessTokenRecord t, CancellationToken ct = default)
    {
        db.AccessTokens.Add(new AccessTokenEntity
        {
            Jti = t.Jti, GrantId = t.GrantId, ClientId = t.ClientId, SubjectId = t.SubjectId, CreatedAt = t.CreatedAt, ExpiresAt = t.ExpiresAt,
        });
        await SaveAsync(ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> ClientIdsForSessionAsync(string sessionId, CancellationToken ct = default) =>
        await db.Grants.Where(g => g.SessionId == sessionId).Select(g => g.ClientId).Distinct().ToListAsync(ct);

    /// <inheritdoc />
    public async Task RevokeAccessTokenAsync(string jti, DateTimeOffset now, CancellationToken ct = default) =>
        await db.AccessTokens.Where(x => x.Jti == jti && x.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(x => x.RevokedAt, now), ct);

    /// <inheritdoc />
    public async Task<bool> IsAccessTokenActiveAsync(string jti, CancellationToken ct = default)
    {
        // One round trip: the token's own flag, and its grant's (which also covers a token stored while its grant was being revoked).
        return await db.AccessTokens.AnyAsync(t => t.Jti == jti && t.RevokedAt == null
            && (t.GrantId == null || db.Grants.Any(g => g.Id == t.GrantId && g.RevokedAt == null)), ct);
    }

    private async Task SaveAsync(CancellationToken ct)
    {
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }
}
