using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;

namespace IdentityServer.Protocol.Endpoints.UserInfo;

/// <summary>
/// The userinfo endpoint (OpenID Connect Core §5.3). The bearer token must be, in order:
/// <list type="number">
/// <item>valid for this issuer as its own audience (<see cref="AccessTokenValidator"/>: signature, <c>typ</c>, expiry, not revoked)</item>
/// <item>with the <c>openid</c> scope (else <c>insufficient_scope</c>, 403)</item>
/// <item>for an end-user who still exists and is not locked out</item>
/// </list>
/// Any failure but scope is <c>invalid_token</c> (401, RFC 6750 §3.1).
/// Claims returned by granted scope: <c>sub</c> always; <c>profile</c> → <c>name</c>, <c>preferred_username</c>; <c>email</c> → <c>email</c>, <c>email_verified</c> (§5.4).
/// </summary>
public sealed class UserInfoEndpoint(AccessTokenValidator validator, IUserProfileStore users)
{
    /// <summary>Validates <paramref name="accessToken"/> and returns the claims as a JSON-ready dictionary.</summary>
    public async Task<OAuthResult<Dictionary<string, object>>> HandleAsync(string accessToken, CancellationToken ct = default)
    {
        var validated = await validator.ValidateAsync(accessToken, ct: ct);
        if (!validated.Succeeded) return validated.Error;
        var jwt = validated.Value;

        var scopes = jwt.TryGetPayloadValue<string>("scope", out var scope) ? Scopes.Parse(scope) : [];
        if (!scopes.Contains(Scopes.OpenId))
            return OAuthError.InsufficientScope("The access token lacks the openid scope.");

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
