using IdentityServer.Protocol.Endpoints.Token;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Protocol.Endpoints.Revocation;

/// <summary>
/// Token revocation (RFC 7009). Rules, in order:
/// <list type="number">
/// <item>client authentication as at the token endpoint; public clients send <c>client_id</c> (§2.1) → else <c>invalid_client</c>, 401</item>
/// <item><c>token</c> present (<c>invalid_request</c>)</item>
/// <item><c>token_type_hint</c> chooses which kind is looked up first; the other is tried too (§2.1)</item>
/// <item>a refresh token issued to this client: its whole grant is revoked, with every refresh and access token issued from
/// it (§2.1: "SHOULD also invalidate all access tokens based on the same authorization grant")</item>
/// <item>an access token of this issuer issued to this client: that token is revoked</item>
/// <item>a token issued to another client: refused with <c>unauthorized_client</c> (§2.1: the server verifies the token was
/// issued to the requesting client), nothing revoked</item>
/// <item>an unknown, invalid or already revoked token: 200 all the same (§2.2)</item>
/// </list>
/// </summary>
public sealed class RevocationEndpoint(ClientAuthenticator authenticator, AccessTokenValidator validator, IGrantStore grants,
    TimeProvider time, ILogger<RevocationEndpoint> logger)
{
    /// <summary>Runs the rules above; success has no body (the adapter answers 200).</summary>
    public async Task<OAuthResult<bool>> HandleAsync(OAuthParameters p, BasicCredentials? basic, CancellationToken ct = default)
    {
        var authenticated = await authenticator.AuthenticateAsync(p, basic, ct);
        if (!authenticated.Succeeded) return authenticated.Error;
        var clientId = authenticated.Value.ClientId;

        var token = p["token"];
        if (token is null) return OAuthError.InvalidRequest("The token parameter is missing.");

        var refreshFirst = p["token_type_hint"] != "access_token";
        var outcome = refreshFirst
            ? await RefreshTokenAsync(token, clientId, ct) is var r and not Outcome.NotFound ? r : await AccessTokenAsync(token, clientId, ct)
            : await AccessTokenAsync(token, clientId, ct) is var a and not Outcome.NotFound ? a : await RefreshTokenAsync(token, clientId, ct);
        if (outcome == Outcome.Foreign)
        {
            logger.LogWarning("Client {ClientId} tried to revoke a token issued to another client", clientId);
            return OAuthError.UnauthorizedClient("The token was not issued to this client.");
        }
        return true;
    }

    private enum Outcome { NotFound, Foreign, Revoked }

    private async Task<Outcome> RefreshTokenAsync(string token, string clientId, CancellationToken ct)
    {
        var record = await grants.FindRefreshTokenAsync(OpaqueToken.Hash(token), ct);
        if (record is null) return Outcome.NotFound;
        if (record.ClientId != clientId) return Outcome.Foreign;
        await grants.RevokeGrantAsync(record.GrantId, time.GetUtcNow(), ct);
        logger.LogInformation("Refresh token revoked by {ClientId}; grant {GrantId} and its tokens revoked", clientId, record.GrantId);
        return Outcome.Revoked;
    }

    private async Task<Outcome> AccessTokenAsync(string token, string clientId, CancellationToken ct)
    {
        if (token.Count(c => c == '.') != 2) return Outcome.NotFound;
        var validated = await validator.ValidateAsync(token, ct: ct, anyAudience: true);
        if (!validated.Succeeded) return Outcome.NotFound;
        var jwt = validated.Value;
        if (!jwt.TryGetPayloadValue<string>("client_id", out var owner) || owner != clientId) return Outcome.Foreign;
        if (jwt.TryGetPayloadValue<string>("jti", out var jti)) await grants.RevokeAccessTokenAsync(jti, time.GetUtcNow(), ct);
        logger.LogInformation("Access token revoked by {ClientId}", clientId);
        return Outcome.Revoked;
    }
}
