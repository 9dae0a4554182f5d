using System.Security.Claims;
using IdentityServer.Interaction;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol;

/// <summary>
/// The principal OpenIddict signs in when an end-user authorizes a client (a code at the authorization endpoint, an approved device
/// code at the verification page). Its claims and where each goes:
/// <list type="bullet">
/// <item><c>sub</c>: access and ID token;</item>
/// <item><c>auth_time</c> (whole seconds) and <c>amr</c> (RFC 8176): access and ID token (OpenID Connect Core §2);</item>
/// <item><c>sid</c>, the browser session, only for a code flow: ID token (Back-Channel Logout 1.0 §2.4 correlates logouts with it).</item>
/// </list>
/// Profile claims are not in tokens: clients read them at userinfo. The scopes are the request's; audiences follow from them when
/// the access token is made.
/// </summary>
public static class EndUserPrincipal
{
    /// <summary>The principal for <paramref name="session"/> granting <paramref name="scopes"/>; <paramref name="withSessionId"/> adds <c>sid</c>.</summary>
    public static ClaimsPrincipal Create(EndUserSession session, IEnumerable<string> scopes, bool withSessionId)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, session.SubjectId);
        identity.SetClaim(Claims.AuthenticationTime, session.AuthTime.ToUnixTimeSeconds());
        identity.SetClaims(Claims.AuthenticationMethodReference, [.. session.Amr]);
        if (withSessionId && session.SessionId is { } sid) identity.SetClaim(ProtocolNames.Claims.SessionId, sid);
        identity.SetScopes(scopes);
        identity.SetDestinations(claim => claim.Type == ProtocolNames.Claims.SessionId
            ? [Destinations.IdentityToken]
            : [Destinations.AccessToken, Destinations.IdentityToken]);
        return new ClaimsPrincipal(identity);
    }
}
