using IdentityServer.Protocol.Audit;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// <c>grant_type=refresh_token</c> with rotation (RFC 6749 §6, RFC 9700 §4.14.2). Rules, in order:
/// <list type="number">
/// <item><c>refresh_token</c> present (<c>invalid_request</c>) and known (<c>invalid_grant</c>)</item>
/// <item>issued to this client (<c>invalid_grant</c>)</item>
/// <item>not rotated before: reuse of a rotated token revokes the whole grant family (<c>invalid_grant</c>)</item>
/// <item>not expired (sliding and absolute) and its grant active (<c>invalid_grant</c>)</item>
/// <item>the granted scopes the client still holds (an admin may have removed some) name a resource (<c>invalid_grant</c>)</item>
/// <item>an optional <c>scope</c> is a subset of those scopes that still names a resource (<c>openid</c> or an API scope), so the
/// access token has an audience (<c>invalid_scope</c>, RFC 6749 §6, RFC 9068 §2.2)</item>
/// <item>the end-user still exists and is not locked out (<c>invalid_grant</c>)</item>
/// <item>atomic rotation in the database; the loser of a race is treated as reuse</item>
/// </list>
/// A narrower <c>scope</c> narrows the new access token only; the new refresh token keeps the grant's scopes.
/// </summary>
public sealed class RefreshTokenGrantHandler(
    IGrantStore grants, IUserProfileStore users, ScopeCatalog catalog, TokenIssuer issuer, TimeProvider time, IAuditLog audit, ILogger<RefreshTokenGrantHandler> logger) : ITokenGrantHandler
{
    /// <inheritdoc />
    public string GrantType => GrantTypes.RefreshToken;

    /// <inheritdoc />
    public async Task<OAuthResult<TokenResponse>> HandleAsync(Client client, OAuthParameters p, CancellationToken ct)
    {
        var value = p["refresh_token"];
        if (value is null) return OAuthError.InvalidRequest("The refresh_token parameter is missing.");

        var now = time.GetUtcNow();
        var hash = OpaqueToken.Hash(value);
        var record = await grants.FindRefreshTokenAsync(hash, ct);
        if (record is null) return OAuthError.InvalidGrant("The refresh token is invalid.");
        if (record.ClientId != client.ClientId) return OAuthError.InvalidGrant("The refresh token was issued to another client.");
        if (record.ConsumedAt is not null) return await RevokeOnReuseAsync(record, now, ct);
        if (record.ExpiresAt <= now) return OAuthError.InvalidGrant("The refresh token has expired.");

        var grant = await grants.FindGrantAsync(record.GrantId, ct);
        if (grant is null || grant.RevokedAt is not null || grant.ExpiresAt <= now)
            return OAuthError.InvalidGrant("The refresh token has been revoked or has expired.");

        // Scopes the client has lost since the grant (an admin removed them) are not issued again.
        IReadOnlyList<string> scopes = grant.Scopes.Where(s => client.Scopes.Contains(s, StringComparer.Ordinal)).ToArray();
        if (!scopes.Any(s => s == Scopes.OpenId || catalog.ApiScopeNames.Contains(s)))
            return OAuthError.InvalidGrant("The client may no longer use the scopes of this grant.");
        if (p["scope"] is { } requested)
        {
            var narrower = Scopes.Parse(requested);
            if (narrower.Count == 0 || narrower.Any(s => !scopes.Contains(s)))
                return OAuthError.InvalidScope("The requested scope exceeds the scope originally granted.");
            if (!narrower.Any(s => s == Scopes.OpenId || catalog.ApiScopeNames.Contains(s)))
                return OAuthError.InvalidScope("The requested scope names no resource: include openid or an API scope.");
            scopes = narrower;
        }

        if (await users.FindActiveAsync(grant.SubjectId, ct) is null)
            return OAuthError.InvalidGrant("The end-user is no longer allowed to sign in.");

        if (!await grants.TryConsumeRefreshTokenAsync(hash, now, ct))
            return await RevokeOnReuseAsync(record, now, ct);

        logger.LogInformation("Refresh token rotated for client {ClientId}, subject {SubjectId}", client.ClientId, grant.SubjectId);
        return await issuer.IssueForUserAsync(client, grant, scopes, nonce: null, now, ct);
    }

    private async Task<OAuthResult<TokenResponse>> RevokeOnReuseAsync(RefreshTokenRecord record, DateTimeOffset now, CancellationToken ct)
    {
        await grants.RevokeGrantAsync(record.GrantId, now, ct);
        await audit.RecordAsync(new AuditEntry(AuditEvents.TokenReuseDetected,
            "client", record.ClientId, "grant", record.GrantId, "refresh_token used again; grant revoked"), ct);
        logger.LogWarning("Refresh token reuse detected for client {ClientId}; grant {GrantId} revoked", record.ClientId, record.GrantId);
        return OAuthError.InvalidGrant("The refresh token has already been used.");
    }
}
