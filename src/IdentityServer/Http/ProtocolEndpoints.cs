using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IdentityServer.Protocol.Endpoints.Device;
using IdentityServer.Protocol.Endpoints.Discovery;
using IdentityServer.Protocol.Endpoints.Introspection;
using IdentityServer.Protocol.Endpoints.Revocation;
using IdentityServer.Protocol.Endpoints.Token;
using IdentityServer.Protocol.Endpoints.UserInfo;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Keys;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;

namespace IdentityServer.Http;

/// <summary>Maps the OAuth/OIDC endpoints (paths in <see cref="EndpointPaths"/>) to their protocol handlers.</summary>
public static class ProtocolEndpoints
{
    /// <summary>Adds discovery, JWKS, authorization, token, userinfo and device authorization routes.</summary>
    public static void MapProtocolEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet(EndpointPaths.Discovery, (IdentityServerOptions options, ScopeCatalog scopes, TokenEndpoint token) =>
            Results.Json(DiscoveryDocument.Create(options, scopes, token.SupportedGrantTypes)));
        app.MapGet(EndpointPaths.Jwks, Jwks);
        app.MapMethods(EndpointPaths.Authorize, [HttpMethods.Get, HttpMethods.Post], AuthorizeEndpoint.HandleAsync).DisableAntiforgery();
        app.MapPost(EndpointPaths.Token, Token).DisableAntiforgery();
        app.MapMethods(EndpointPaths.UserInfo, [HttpMethods.Get, HttpMethods.Post], UserInfo).DisableAntiforgery();
        app.MapPost(EndpointPaths.DeviceAuthorization, DeviceAuthorization).DisableAntiforgery();
        app.MapPost(EndpointPaths.Introspection, (HttpContext http, IntrospectionEndpoint endpoint, ILoggerFactory loggers) =>
            ClientFormEndpointAsync(http, loggers.CreateLogger("IdentityServer.Introspection"), endpoint.HandleAsync)).DisableAntiforgery();
        app.MapPost(EndpointPaths.Revocation, Revocation).DisableAntiforgery();
    }

    /// <summary>JWKS (RFC 7517 §5): the public part of every published key (RSA: n, e; EC: crv, x, y; RFC 7518 §6).</summary>
    private static async Task<IResult> Jwks(ISigningKeyStore keys, CancellationToken ct)
    {
        var published = await keys.GetPublishedKeysAsync(ct);
        var list = published.Select(k => k.Kty == "EC"
            ? new Dictionary<string, string> { ["kty"] = k.Kty, ["use"] = k.Use, ["alg"] = k.Alg, ["kid"] = k.Kid, ["crv"] = k.Crv, ["x"] = k.X, ["y"] = k.Y }
            : new Dictionary<string, string> { ["kty"] = k.Kty, ["use"] = k.Use, ["alg"] = k.Alg, ["kid"] = k.Kid, ["n"] = k.N, ["e"] = k.E });
        return Results.Json(new { keys = list });
    }

    /// <summary>Token endpoint adapter (RFC 6749 §3.2): see <see cref="ClientFormEndpointAsync{T}"/>.</summary>
    private static Task<IResult> Token(HttpContext http, TokenEndpoint endpoint, ILoggerFactory loggers) =>
        ClientFormEndpointAsync(http, loggers.CreateLogger("IdentityServer.Token"), endpoint.HandleAsync);

    /// <summary>Device authorization adapter (RFC 8628 §3.1–§3.2): see <see cref="ClientFormEndpointAsync{T}"/>; no-store matters, the answer holds the device code.</summary>
    private static Task<IResult> DeviceAuthorization(HttpContext http, DeviceAuthorizationEndpoint endpoint, ILoggerFactory loggers) =>
        ClientFormEndpointAsync(http, loggers.CreateLogger("IdentityServer.DeviceAuthorization"), endpoint.HandleAsync);

    /// <summary>Revocation adapter (RFC 7009 §2.2): 200 with an empty body when done (also for unknown tokens), else the error.</summary>
    private static async Task<IResult> Revocation(HttpContext http, RevocationEndpoint endpoint, ILoggerFactory loggers)
    {
        var result = await ClientFormEndpointAsync(http, loggers.CreateLogger("IdentityServer.Revocation"), endpoint.HandleAsync);
        return http.Response.StatusCode == StatusCodes.Status200OK && result is IValueHttpResult { Value: true } ? Results.Ok() : result;
    }

    /// <summary>
    /// The shape shared by endpoints where a client POSTs a form and may authenticate with Basic (token, device authorization):
    /// parse the form once, read Basic, run <paramref name="handle"/>, answer JSON with <c>Cache-Control: no-store</c>
    /// (RFC 6749 §5.1) or the error (§5.2; 401 with <c>WWW-Authenticate</c> for <c>invalid_client</c>). An unexpected exception
    /// becomes <c>server_error</c> (see <see cref="Hosting.ServerSetup.UsePipeline"/>).
    /// </summary>
    private static async Task<IResult> ClientFormEndpointAsync<T>(HttpContext http, ILogger logger,
        Func<OAuthParameters, BasicCredentials?, CancellationToken, Task<OAuthResult<T>>> handle)
    {
        var parsed = await HttpParameters.FromFormAsync(http.Request, http.RequestAborted);
        if (!parsed.Succeeded) return OAuthHttp.Error(http.Response, parsed.Error);
        var basic = ReadBasic(http.Request, out var basicError);
        if (basicError is not null) return OAuthHttp.Error(http.Response, basicError);

        var result = await handle(parsed.Value, basic, http.RequestAborted);
        if (!result.Succeeded)
        {
            logger.LogInformation("Request refused: {Error} {Description}", result.Error.Error, result.Error.SafeDescription);
            return OAuthHttp.Error(http.Response, result.Error);
        }
        OAuthHttp.NoStore(http.Response);
        return Results.Json(result.Value);
    }

    /// <summary>
    /// Reads <c>Authorization: Basic</c> (RFC 6749 §2.3.1: id and secret are form-URL-encoded before base64).
    /// No header → null; a malformed one → <c>invalid_client</c>.
    /// </summary>
    private static BasicCredentials? ReadBasic(HttpRequest request, out OAuthError? error)
    {
        error = null;
        var header = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header)) return null;
        if (!AuthenticationHeaderValue.TryParse(header, out var value) || !value.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase) || value.Parameter is null)
        {
            error = OAuthError.InvalidClient("The Authorization header is not a valid Basic header.");
            return null;
        }
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value.Parameter));
            var colon = decoded.IndexOf(':');
            if (colon <= 0) throw new FormatException();
            return new BasicCredentials(WebUtility.UrlDecode(decoded[..colon]), WebUtility.UrlDecode(decoded[(colon + 1)..]));
        }
        catch (FormatException)
        {
            error = OAuthError.InvalidClient("The Authorization header is not a valid Basic header.");
            return null;
        }
    }

    /// <summary>
    /// Userinfo adapter (OpenID Connect Core §5.3, RFC 6750 §2). Token from <c>Authorization: Bearer</c>, or the
    /// <c>access_token</c> form field on POST (§2.2). No token, or an invalid one → 401 <c>Bearer error="invalid_token"</c>;
    /// missing <c>openid</c> → 403 <c>insufficient_scope</c>. (RFC 6750 §3.1 lets a server omit the error code when no
    /// token was sent; the product spec asks for <c>invalid_token</c> there too, which clients handle alike.)
    /// </summary>
    private static async Task<IResult> UserInfo(HttpContext http, UserInfoEndpoint endpoint)
    {
        OAuthHttp.NoStore(http.Response);
        string? token = null;
        var header = http.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) token = header[7..].Trim();
        else if (header.Length > 0) return Challenge(http, OAuthError.InvalidToken("Only the Bearer scheme is accepted."));
        if (token is null && HttpMethods.IsPost(http.Request.Method) && http.Request.HasFormContentType)
        {
            var form = await HttpParameters.FromFormAsync(http.Request, http.RequestAborted);
            if (!form.Succeeded) return Challenge(http, form.Error);
            token = form.Value["access_token"];
        }
        if (string.IsNullOrEmpty(token)) return Challenge(http, OAuthError.InvalidToken("No access token was presented."));
        var result = await endpoint.HandleAsync(token, http.RequestAborted);
        return result.Succeeded ? Results.Json(result.Value) : Challenge(http, result.Error);
    }

    /// <summary>The RFC 6750 §3 challenge: <c>WWW-Authenticate: Bearer</c> with the error code and a header-safe description, and the same as a JSON body.</summary>
    private static IResult Challenge(HttpContext http, OAuthError error)
    {
        http.Response.Headers.WWWAuthenticate = $"Bearer realm=\"IdentityServer\", error=\"{error.Error}\", error_description=\"{error.SafeDescription}\"";
        return Results.Json(new Dictionary<string, string?> { ["error"] = error.Error, ["error_description"] = error.SafeDescription }, statusCode: error.Status);
    }
}
