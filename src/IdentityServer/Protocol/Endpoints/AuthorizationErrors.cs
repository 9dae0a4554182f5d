using IdentityServer.Http;
using IdentityServer.Options;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Handlers;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol.Endpoints;

/// <summary>
/// Answers an authorization request OpenIddict refused (RFC 6749 §4.1.2.1). The error goes back to the client, with <c>state</c> and
/// <c>iss</c> (RFC 9207 §2), only when the redirect URI can be trusted; otherwise a readable page tells the person, and nobody is sent
/// anywhere. In order, a request is answered with a page when:
/// <list type="number">
/// <item>a parameter is repeated (its <c>redirect_uri</c> or <c>state</c> could be either value);</item>
/// <item><c>client_id</c> is missing, or names no enabled client;</item>
/// <item><c>redirect_uri</c> is missing, or is not registered for the client (exact match, <see cref="RedirectUriMatcher"/>);</item>
/// <item><c>response_mode</c> is neither <c>query</c> nor <c>form_post</c> (no safe way to answer).</item>
/// </list>
/// The page names the first of these problems (or OpenIddict's own error); any other error is redirected. OpenIddict itself never
/// redirects an error it finds while validating, so this is where that happens.
/// </summary>
public sealed class AuthorizationErrors(ClientApplicationManager clients, IdentityServerOptions options, ILogger<AuthorizationErrors> logger)
{
    public const string MissingClientId = "The client_id parameter is missing.";
    public const string UnknownClient = "The client is unknown or disabled.";
    public const string MissingRedirectUri = "The redirect_uri parameter is missing.";
    public const string UnregisteredRedirectUri = "The redirect_uri is not registered for this client.";
    public const string UnsupportedResponseMode = "The response_mode must be 'query' or 'form_post'.";

    /// <summary>Answers <paramref name="error"/> for <paramref name="request"/> (null when it could not be read) as described above.</summary>
    public async Task RespondAsync(HttpContext http, OpenIddictRequest? request, OpenIddictResponse error)
    {
        var (redirectUri, problem, client) = await TrustAsync(request, error, http.RequestAborted);
        logger.LogInformation("Authorization request refused: {Error} {Description}", error.Error, error.ErrorDescription);
        if (redirectUri is null)
        {
            OAuthHttp.NoStore(http.Response);
            await ErrorPage(problem ?? (error.Error ?? Errors.InvalidRequest, error.ErrorDescription), client).ExecuteAsync(http);
            return;
        }
        await AuthorizationResponseWriter.WriteAsync(http, redirectUri, request!.ResponseMode, new Dictionary<string, string?>
        {
            [Parameters.Error] = error.Error, [Parameters.ErrorDescription] = error.ErrorDescription,
            [Parameters.State] = request.State, [Parameters.Iss] = options.Issuer,
        });
    }

    private async Task<(string? RedirectUri, (string Error, string? Description)? Problem, string? ClientName)> TrustAsync(
        OpenIddictRequest? request, OpenIddictResponse error, CancellationToken ct)
    {
        if (request is null || RequestParameterRules.IsParameterError(error.ErrorDescription)) return (null, null, null);
        if (request.ClientId is not { Length: > 0 } clientId) return (null, (Errors.InvalidRequest, MissingClientId), null);
        if (await clients.FindByClientIdAsync(clientId, ct) is not { } application) return (null, (Errors.InvalidRequest, UnknownClient), null);
        var name = application.DisplayName ?? clientId;
        if (request.RedirectUri is not { Length: > 0 } redirectUri) return (null, (Errors.InvalidRequest, MissingRedirectUri), name);
        if (!await clients.ValidateRedirectUriAsync(application, redirectUri, ct)) return (null, (Errors.InvalidRequest, UnregisteredRedirectUri), name);
        if (request.ResponseMode is { } mode && mode is not (ResponseModes.Query or ResponseModes.FormPost))
            return (null, (Errors.InvalidRequest, UnsupportedResponseMode), name);
        return (redirectUri, null, name);
    }

    /// <summary>A readable error page for a person, with status 400: no redirect URI can be trusted.</summary>
    public static IResult ErrorPage((string Error, string? Description) error, string? clientName) =>
        HtmlPage.Render("Sign-in error",
            $"""
            <h1>This sign-in request cannot be completed</h1>
            <p>The application{(clientName is null ? "" : $" <strong>{HtmlPage.E(clientName)}</strong>")} sent a request this server cannot accept, so you were not sent back to it.</p>
            <p class="error"><code>{HtmlPage.E(error.Error)}</code>: {HtmlPage.E(error.Description)}</p>
            <p>If this keeps happening, tell the application's developers what this page says.</p>
            """, 400);
}
