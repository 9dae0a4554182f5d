using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;

namespace IdentityServer.Protocol.Endpoints.Authorize;

/// <summary>
/// Validates authorization requests. The rules run in this order:
/// <list type="number">
/// <item>client_id present; client known and enabled (RFC 6749 §4.1.2.1: never redirect) — error page</item>
/// <item>redirect_uri present and registered, exact match (RFC 9700 §4.1.3, RFC 8252 §7.3) — error page</item>
/// <item>response_mode is <c>query</c> or <c>form_post</c> (OAuth 2.0 Form Post Response Mode) — error page</item>
/// <item>request / request_uri not supported (OpenID Connect Core §6)</item>
/// <item>response_type is <c>code</c> (RFC 6749 §3.1.1; RFC 9700 §2.1.2 forbids implicit)</item>
/// <item>client may use <c>authorization_code</c> (RFC 6749 §4.1.2.1 unauthorized_client)</item>
/// <item>scope present, well formed, known and allowed for the client (RFC 6749 §3.3)</item>
/// <item>code_challenge present, well formed; code_challenge_method is <c>S256</c> (RFC 7636 §4.3, RFC 9700 §2.1.1)</item>
/// <item>prompt values known and <c>none</c> alone (OpenID Connect Core §3.1.2.1)</item>
/// <item>max_age a non-negative integer (OpenID Connect Core §3.1.2.1)</item>
/// </list>
/// Errors from rules 1–3 carry no redirect URI: the adapter shows an error page. Later errors are
/// redirected to the verified redirect URI with <c>state</c> and <c>iss</c> (RFC 9207).
/// </summary>
public sealed class AuthorizeRequestValidator(IClientStore clients, ScopeCatalog catalog)
{
    private static readonly HashSet<string> KnownPrompts = ["none", "login", "consent", "select_account"];

    /// <summary>Validates <paramref name="p"/>; see the class summary for the rule order.</summary>
    public async Task<AuthorizeValidation> ValidateAsync(OAuthParameters p, CancellationToken ct = default)
    {
        var state = p["state"];
        var responseMode = p["response_mode"] ?? "query";

        // 1. client
        var clientId = p["client_id"];
        if (clientId is null)
            return Page(OAuthError.InvalidRequest("The client_id parameter is missing."), null, state);
        var client = await clients.FindByClientIdAsync(clientId, ct);
        if (client is null || !client.Enabled)
            return Page(new OAuthError(OAuthErrorCodes.InvalidRequest, "The client is unknown or disabled."), null, state);

        // 2. redirect_uri
        var redirectUri = p["redirect_uri"];
        if (redirectUri is null)
            return Page(OAuthError.InvalidRequest("The redirect_uri parameter is missing."), client, state);
        if (!RedirectUriMatcher.IsRegistered(redirectUri, client.RedirectUris))
            return Page(OAuthError.InvalidRequest("The redirect_uri is not registered for this client."), client, state);

        // 3. response_mode (an unknown mode gives no safe way to answer)
        if (responseMode is not ("query" or "form_post"))
            return Page(OAuthError.InvalidRequest("The response_mode must be 'query' or 'form_post'."), client, state);

        OAuthError? error = Check(p, client, out var scopes);
        if (error is not null)
            return new AuthorizeValidation(null, error, redirectUri, responseMode, state, client);

        var request = new AuthorizeRequest
        {
            Client = client,
            RedirectUri = redirectUri,
            ResponseMode = responseMode,
            Scopes = scopes,
            CodeChallenge = p["code_challenge"]!,
            State = state,
            Nonce = p["nonce"],
            Prompt = Scopes.Parse(p["prompt"]).ToHashSet(StringComparer.Ordinal),
            MaxAge = p["max_age"] is { } m ? int.Parse(m, System.Globalization.CultureInfo.InvariantCulture) : null,
            LoginHint = p["login_hint"],
        };
        return new AuthorizeValidation(request, null, redirectUri, responseMode, state, client);
    }

    private OAuthError? Check(OAuthParameters p, Client client, out IReadOnlyList<string> scopes)
    {
        scopes = [];
        // 4. request objects
        if (p["request"] is not null)
            return new OAuthError(OAuthErrorCodes.RequestNotSupported, "Request objects are not supported.");
        if (p["request_uri"] is not null)
            return new OAuthError(OAuthErrorCodes.RequestUriNotSupported, "The request_uri parameter is not supported.");

        // 5. response_type
        var responseType = p["response_type"];
        if (responseType is null)
            return OAuthError.InvalidRequest("The response_type parameter is missing.");
        if (responseType != "code")
            return OAuthError.UnsupportedResponseType("Only response_type=code is supported.");

        // 6. grant type allowed
        if (!client.AllowsGrantType(GrantTypes.AuthorizationCode))
            return OAuthError.UnauthorizedClient("The client may not use the authorization code flow.");

        // 7. scope
        var requested = Scopes.Parse(p["scope"]);
        if (catalog.CheckEndUserScopes(requested, client) is { } scopeError) return scopeError;
        scopes = requested;

        // 8. PKCE
        var challenge = p["code_challenge"];
        if (challenge is null)
            return OAuthError.InvalidRequest("The code_challenge parameter is required (PKCE).");
        var method = p["code_challenge_method"];
        if (method != Pkce.S256)
            return OAuthError.InvalidRequest("The code_challenge_method must be S256.");
        if (!Pkce.IsWellFormed(challenge))
            return OAuthError.InvalidRequest("The code_challenge is malformed.");

        // 9. prompt
        var prompt = Scopes.Parse(p["prompt"]);
        if (prompt.Any(v => !KnownPrompts.Contains(v)))
            return OAuthError.InvalidRequest("The prompt parameter has an unsupported value.");
        if (prompt.Contains("none") && prompt.Count > 1)
            return OAuthError.InvalidRequest("The prompt value 'none' must be used alone.");

        // 10. max_age
        if (p["max_age"] is { } maxAge &&
            (!int.TryParse(maxAge, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _)))
            return OAuthError.InvalidRequest("The max_age parameter must be a non-negative integer.");

        return null;
    }

    private static AuthorizeValidation Page(OAuthError error, Client? client, string? state) =>
        new(null, error, null, "query", state, client);
}
