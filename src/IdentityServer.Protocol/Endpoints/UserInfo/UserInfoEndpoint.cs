using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Keys;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Endpoints.UserInfo;

/// <summary>
/// The userinfo endpoint (OpenID Connect Core §5.3). The bearer token must be, in order:
/// <list type="number">
/// <item>a JWT signed by a published key of this issuer, with header <c>typ: at+jwt</c> (an ID token is refused; RFC 9068 §4)</item>
/// <item>unexpired (checked against the injected clock)</item>
/// <item>for this issuer's userinfo audience, with the <c>openid</c> scope (else <c>insufficient_scope</c>, 403)</item>
/// <item>recorded here and not revoked with its grant</item>
/// <item>for an end-user who still exists and is not locked out</item>
/// </list>
/// Any failure but scope is <c>invalid_token</c> (401, RFC 6750 §3.1).
/// Claims returned by granted scope: <c>sub</c> always; <c>profile</c> → <c>name</c>, <c>preferred_username</c>; <c>email</c> → <c>email</c>, <c>email_verified</c> (§5.4).
/// </summary>
public sealed class UserInfoEndpoint(IdentityServerOptions options, ISigningKeyStore keys, IGrantStore grants, IUserProfileStore users, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new();

    /// <summary>Validates <paramref name="accessToken"/> and returns the claims as a JSON-ready dictionary.</summary>
    public async Task<OAuthResult<Dictionary<string, object>>> HandleAsync(string accessToken, CancellationToken ct = default)
    {
        var parameters = new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = options.Issuer,
            IssuerSigningKeys = await keys.GetPublishedKeysAsync(ct),
            ValidTypes = [TokenFactory.AccessTokenType],
            ValidateLifetime = false, // checked below against the injected clock
            RequireExpirationTime = true,
        };
        var result = await Handler.ValidateTokenAsync(accessToken, parameters);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            return OAuthError.InvalidToken("The access token is invalid.");
        if (jwt.ValidTo <= time.GetUtcNow().UtcDateTime)
            return OAuthError.InvalidToken("The access token has expired.");

        var scopes = jwt.TryGetPayloadValue<string>("scope", out var scope) ? Scopes.Parse(scope) : [];
        if (!scopes.Contains(Scopes.OpenId))
            return OAuthError.InsufficientScope("The access token lacks the openid scope.");
        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || !await grants.IsAccessTokenActiveAsync(jti, ct))
            return OAuthError.InvalidToken("The access token has been revoked.");

        var profile = await users.FindActiveAsync(jwt.Subject, ct);
        if (profile is null)
            return OAuthError.InvalidToken("The end-user is no longer active.");

        var claims = new Dictionary<string, object> { ["sub"] = profile.SubjectId };
        if (scopes.Contains(Scopes.Profile))
        {
            claims["preferred_username"] = profile.PreferredUsername;
            if (profile.Name is not null) claims["name"] = profile.Name;
        }
        if (scopes.Contains(Scopes.Email) && profile.Email is not null)
        {
            claims["email"] = profile.Email;
            claims["email_verified"] = profile.EmailVerified;
        }
        return claims;
    }
}
