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
/// <c>grant_type=authorization_code</c> (RFC 6749 §4.1.3, RFC 7636 §4.5–4.6). Rules, in order:
/// <list type="number">
/// <item><c>code</c>, <c>redirect_uri</c> and <c>code_verifier</c> present (<c>invalid_request</c>)</item>
/// <item>the code is known (<c>invalid_grant</c>)</item>
/// <item>the code was not redeemed before; a second redemption revokes the grant and every token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.5)</item>
/// <item>issued to this client (<c>invalid_grant</c>), not expired (<c>invalid_grant</c>)</item>
/// <item><c>redirect_uri</c> identical to the authorization request's (RFC 6749 §4.1.3, <c>invalid_grant</c>)</item>
/// <item><c>code_verifier</c> matches the S256 challenge (RFC 7636 §4.6, <c>invalid_grant</c>)</item>
/// <item>the grant is active and the end-user still exists and is not locked out (<c>invalid_grant</c>)</item>
/// <item>atomic redemption in the database: the loser of a race is treated as a second redemption</item>
/// </list>
/// </summary>
public sealed class AuthorizationCodeGrantHandler(
    IGrantStore grants, IUserProfileStore users, TokenIssuer issuer, TimeProvider time, IAuditLog audit, ILogger<AuthorizationCodeGrantHandler> logger) : ITokenGrantHandler
{
    /// <inheritdoc />
    public string GrantType => GrantTypes.AuthorizationCode;

    /// <inheritdoc />
    public async Task<OAuthResult<TokenResponse>> HandleAsync(Client client, OAuthParameters p, CancellationToken ct)
    {
        var code = p["code"];
        var redirectUri = p["redirect_uri"];
        var verifier = p["code_verifier"];
        if (code is null) return OAuthError.InvalidRequest("The code parameter is missing.");
        if (redirectUri is null) return OAuthError.InvalidRequest("The redirect_uri parameter is missing.");
        if (verifier is null) return OAuthError.InvalidRequest("The code_verifier parameter is missing (PKCE is required).");

        var now = time.GetUtcNow();
        var hash = OpaqueToken.Hash(code);
        var record = await grants.FindAuthorizationCodeAsync(hash, ct);
        if (record is null) return OAuthError.InvalidGrant("The authorization code is invalid.");

        if (record.RedeemedAt is not null)
            return await RevokeOnReuseAsync(record, now, ct);
        if (record.ClientId != client.ClientId)
            return OAuthError.InvalidGrant("The authorization code was issued to another client.");
        if (record.ExpiresAt <= now)
            return OAuthError.InvalidGrant("The authorization code has expired.");
        if (!string.Equals(record.RedirectUri, redirectUri, StringComparison.Ordinal))
            return OAuthError.InvalidGrant("The redirect_uri does not match the authorization request.");
        if (!Pkce.Verify(verifier, record.CodeChallenge))
            return OAuthError.InvalidGrant("The code_verifier does not match the code_challenge.");

        var grant = await grants.FindGrantAsync(record.GrantId, ct);
        if (grant is null || grant.RevokedAt is not null)
            return OAuthError.InvalidGrant("The authorization has been revoked.");
        if (await users.FindActiveAsync(grant.SubjectId, ct) is null)
            return OAuthError.InvalidGrant("The end-user is no longer allowed to sign in.");

        if (!await grants.TryRedeemAuthorizationCodeAsync(hash, now, ct))
            return await RevokeOnReuseAsync(record, now, ct);

        logger.LogInformation("Authorization code redeemed by {ClientId} for {SubjectId}", client.ClientId, grant.SubjectId);
        return await issuer.IssueForUserAsync(client, grant, grant.Scopes, record.Nonce, now, ct);
    }

    private async Task<OAuthResult<TokenResponse>> RevokeOnReuseAsync(AuthorizationCodeRecord record, DateTimeOffset now, CancellationToken ct)
    {
        await grants.RevokeGrantAsync(record.GrantId, now, ct);
        await audit.RecordAsync(new AuditEntry(AuditEvents.TokenReuseDetected,
            "client", record.ClientId, "grant", record.GrantId, "authorization_code used again; grant revoked"), ct);
        logger.LogWarning("Authorization code reuse detected for client {ClientId}; grant {GrantId} revoked", record.ClientId, record.GrantId);
        return OAuthError.InvalidGrant("The authorization code has already been used.");
    }
}
