using IdentityServer.Protocol.Endpoints.Token;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;

namespace IdentityServer.Protocol.Endpoints.Introspection;

/// <summary>
/// Token introspection (RFC 7662). Rules, in order:
/// <list type="number">
/// <item>client authentication as at the token endpoint, and only confidential clients (§2.1: the endpoint needs authorization;
/// a public client cannot prove who it is) → else <c>invalid_client</c>, 401</item>
/// <item><c>token</c> present (<c>invalid_request</c>)</item>
/// <item><c>token_type_hint</c> (<c>access_token</c> or <c>refresh_token</c>) chooses which kind is tried first; the other is
/// tried too (§2.1: the hint is not to be trusted)</item>
/// <item>an access token is active when it is a JWT of this issuer, unexpired, recorded here and not revoked (alone or with its
/// grant), and its end-user is still active</item>
/// <item>a refresh token is active when it is known, not rotated, unexpired, its grant active, its end-user active, and it was
/// issued to the calling client (§2.2: a token of another client is "not active" to this one)</item>
/// <item>inactive, unknown, expired, revoked or foreign tokens answer only <c>{"active": false}</c> (§2.2)</item>
/// </list>
/// An active token answers <c>active scope client_id sub aud iss exp iat token_type</c> (exp and iat in seconds since the epoch).
/// </summary>
public sealed class IntrospectionEndpoint(ClientAuthenticator authenticator, AccessTokenValidator validator, IGrantStore grants,
    IUserProfileStore users, IdentityServerOptions options, TimeProvider time)
{
    /// <summary>The answer for anything not active.</summary>
    public static Dictionary<string, object> Inactive() => new() { ["active"] = false };

    /// <summary>Runs the rules above on a parsed form body and the Basic credentials, if any.</summary>
    public async Task<OAuthResult<Dictionary<string, object>>> HandleAsync(OAuthParameters p, BasicCredentials? basic, CancellationToken ct = default)
    {
        var authenticated = await authenticator.AuthenticateAsync(p, basic, ct);
        if (!authenticated.Succeeded) return authenticated.Error;
        var client = authenticated.Value;
        if (!client.IsConfidential) return OAuthError.InvalidClient("Only confidential clients may introspect tokens.");

        var token = p["token"];
        if (token is null) return OAuthError.InvalidRequest("The token parameter is missing.");

        var refreshFirst = p["token_type_hint"] == "refresh_token";
        var answer = refreshFirst
            ? await RefreshTokenAsync(token, client.ClientId, ct) ?? await AccessTokenAsync(token, ct)
            : await AccessTokenAsync(token, ct) ?? await RefreshTokenAsync(token, client.ClientId, ct);
        return answer ?? Inactive();
    }

    private async Task<Dictionary<string, object>?> AccessTokenAsync(string token, CancellationToken ct)
    {
        if (token.Count(c => c == '.') != 2) return null;
        var validated = await validator.ValidateAsync(token, ct: ct, anyAudience: true);
        if (!validated.Succeeded) return null;
        var jwt = validated.Value;
        var isClientToken = !jwt.TryGetPayloadValue<long>("auth_time", out _);
        if (!isClientToken && await users.FindActiveAsync(jwt.Subject, ct) is null) return null;
        var answer = new Dictionary<string, object>
        {
            ["active"] = true,
            ["token_type"] = "Bearer",
            ["scope"] = jwt.TryGetPayloadValue<string>("scope", out var scope) ? scope : "",
            ["client_id"] = jwt.TryGetPayloadValue<string>("client_id", out var clientId) ? clientId : "",
            ["sub"] = jwt.Subject,
            ["aud"] = jwt.Audiences.Count() == 1 ? jwt.Audiences.First() : jwt.Audiences.ToArray(),
            ["iss"] = jwt.Issuer,
            ["exp"] = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero).ToUnixTimeSeconds(),
            ["iat"] = new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero).ToUnixTimeSeconds(),
        };
        return answer;
    }

    private async Task<Dictionary<string, object>?> RefreshTokenAsync(string token, string callerClientId, CancellationToken ct)
    {
        var record = await grants.FindRefreshTokenAsync(OpaqueToken.Hash(token), ct);
        var now = time.GetUtcNow();
        if (record is null || record.ConsumedAt is not null || record.ExpiresAt <= now || record.ClientId != callerClientId) return null;
        var grant = await grants.FindGrantAsync(record.GrantId, ct);
        if (grant is null || grant.RevokedAt is not null || grant.ExpiresAt <= now) return null;
        if (await users.FindActiveAsync(grant.SubjectId, ct) is null) return null;
        return new Dictionary<string, object>
        {
            ["active"] = true,
            ["token_type"] = "refresh_token",
            ["scope"] = Grants.Scopes.Join(grant.Scopes),
            ["client_id"] = record.ClientId,
            ["sub"] = grant.SubjectId,
            ["aud"] = record.ClientId,
            ["iss"] = options.Issuer,
            ["exp"] = record.ExpiresAt.ToUnixTimeSeconds(),
            ["iat"] = record.CreatedAt.ToUnixTimeSeconds(),
        };
    }
}
