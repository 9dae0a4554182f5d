using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Keys;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Endpoints.EndSession;

/// <summary>A validated logout request: the client it comes from (when known), where to send the person afterwards, and who the hint names.</summary>
/// <param name="Client">The client named by <c>id_token_hint</c> or <c>client_id</c>; null when the request cannot be attributed.</param>
/// <param name="PostLogoutRedirectUri">A registered post-logout URI of <paramref name="Client"/>, or null.</param>
/// <param name="State">Passed back with the redirect.</param>
/// <param name="HintSubject">The <c>sub</c> of a valid <c>id_token_hint</c>.</param>
/// <param name="HintSessionId">The <c>sid</c> of a valid <c>id_token_hint</c>.</param>
public sealed record EndSessionRequest(Client? Client, string? PostLogoutRedirectUri, string? State, string? HintSubject, string? HintSessionId);

/// <summary>
/// Validates RP-initiated logout requests (OpenID Connect RP-Initiated Logout 1.0 §2–§3). Rules, in order; every failure is
/// <c>invalid_request</c>, shown on a page (the OP never redirects to a URI it has not verified):
/// <list type="number">
/// <item><c>id_token_hint</c>, when given, is an ID token (header <c>typ</c> JWT, not an access token) signed by a published key of
/// this issuer; it may have expired (§2). One signed by a key no longer published counts as no hint (the person confirms).</item>
/// <item><c>client_id</c>, when given, names a known, enabled client, the same as the hint's <c>aud</c> when both are given (§2)</item>
/// <item><c>post_logout_redirect_uri</c> needs the client (from the hint or <c>client_id</c>) and must equal one of its registered
/// post-logout URIs exactly (§3)</item>
/// <item><c>state</c> is kept only together with a redirect (§2)</item>
/// </list>
/// </summary>
public sealed class EndSessionValidator(IClientStore clients, ISigningKeyStore keys, IdentityServerOptions options)
{
    /// <summary>The validated request, or the error for the page.</summary>
    public async Task<OAuthResult<EndSessionRequest>> ValidateAsync(OAuthParameters p, CancellationToken ct = default)
    {
        string? hintAudience = null, hintSubject = null, hintSid = null;
        if (p["id_token_hint"] is { } hint)
        {
            var result = await SelfIssuedJwt.ValidateAsync(hint, keys, published => new TokenValidationParameters
            {
                ValidIssuer = options.Issuer, ValidateAudience = false, ValidateLifetime = false, IssuerSigningKeys = published, ValidTypes = ["JWT"],
            }, ct);
            if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
            {
                // Signed by a key that has left JWKS since (RPs keep ID tokens for long): proceed as without a hint,
                // so the person is asked to confirm rather than left signed in.
            }
            else if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt || jwt.Audiences.Count() != 1)
                return OAuthError.InvalidRequest("The id_token_hint is not an ID token issued by this server.");
            else
            {
                hintAudience = jwt.Audiences.Single();
                hintSubject = jwt.Subject;
                hintSid = jwt.TryGetPayloadValue<string>("sid", out var sid) ? sid : null;
            }
        }

        var clientId = p["client_id"];
        if (clientId is not null && hintAudience is not null && clientId != hintAudience)
            return OAuthError.InvalidRequest("The client_id does not match the id_token_hint.");
        clientId ??= hintAudience;
        Client? client = null;
        if (clientId is not null)
        {
            client = await clients.FindByClientIdAsync(clientId, ct);
            if (client is null || !client.Enabled) return OAuthError.InvalidRequest("The client is unknown or disabled.");
        }

        var redirect = p["post_logout_redirect_uri"];
        if (redirect is not null)
        {
            if (client is null)
                return OAuthError.InvalidRequest("A post_logout_redirect_uri needs the client: send id_token_hint or client_id.");
            if (!client.PostLogoutRedirectUris.Contains(redirect, StringComparer.Ordinal))
                return OAuthError.InvalidRequest("The post_logout_redirect_uri is not registered for this client.");
        }
        return new EndSessionRequest(client, redirect, redirect is null ? null : p["state"], hintSubject, hintSid);
    }
}
