using System.Security.Claims;
using IdentityServer.Account;
using IdentityServer.Http;
using IdentityServer.Options;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol.Endpoints;

/// <summary>
/// The userinfo endpoint (OpenID Connect Core §5.3), GET and POST. OpenIddict has already checked the bearer token (RFC 6750 §2: from
/// the <c>Authorization</c> header or the form's <c>access_token</c>): a valid access token of this issuer, unexpired, not revoked,
/// its authorization still valid; else 401 <c>invalid_token</c>. Then, in order:
/// <list type="number">
/// <item>the token is meant for userinfo: this issuer is one of its audiences (RFC 9068 §4), else 401 <c>invalid_token</c>;</item>
/// <item>it carries <c>openid</c>, else 403 <c>insufficient_scope</c> (RFC 6750 §3.1);</item>
/// <item>its end-user still exists and is not locked out, else 401 <c>invalid_token</c>.</item>
/// </list>
/// The claims follow the token's scopes (§5.4): <c>sub</c> always; <c>profile</c> → <c>preferred_username</c>, <c>name</c>;
/// <c>email</c> → <c>email</c>, <c>email_verified</c>.
/// </summary>
public static class UserInfoEndpoint
{
    /// <summary>Handles one request.</summary>
    public static async Task<IResult> HandleAsync(HttpContext http, ActiveUsers users, IdentityServerOptions options)
    {
        OAuthHttp.NoStore(http.Response);
        var principal = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        if (principal is null || !principal.HasAudience(options.Issuer))
            return Challenge(Errors.InvalidToken, "The access token is not meant for this endpoint.");
        if (!principal.HasScope(Scopes.OpenId))
            return Results.Forbid(Properties(Errors.InsufficientScope, "The access token lacks the openid scope."), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        if (principal.GetClaim(Claims.Subject) is not { } subject || await users.FindActiveAsync(subject, http.RequestAborted) is not { } profile)
            return Challenge(Errors.InvalidToken, "The end-user is no longer active.");

        var claims = new Dictionary<string, object> { [Claims.Subject] = profile.SubjectId };
        if (principal.HasScope(Scopes.Profile))
        {
            claims[Claims.PreferredUsername] = profile.PreferredUsername;
            if (profile.Name is not null) claims[Claims.Name] = profile.Name;
        }
        if (principal.HasScope(Scopes.Email) && profile.Email is not null)
        {
            claims[Claims.Email] = profile.Email;
            claims[Claims.EmailVerified] = profile.EmailVerified;
        }
        return Results.Json(claims);
    }

    private static IResult Challenge(string error, string description) =>
        Results.Challenge(Properties(error, description), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);

    private static AuthenticationProperties Properties(string error, string description) => new(new Dictionary<string, string?>
    {
        [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
        [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
    });
}
