using IdentityServer.Protocol;

namespace IdentityServer.Http;

/// <summary>
/// The endpoints that take requests only by POST (token, RFC 6749 §3.2; device authorization, RFC 8628 §3.1; introspection, RFC 7662
/// §2.1; revocation, RFC 7009 §2.1) answer any other method with 405 Method Not Allowed and <c>Allow: POST</c> (RFC 9110 §15.5.6), as
/// HTTP asks, rather than OpenIddict's 400 <c>invalid_request</c>. The body is still an OAuth error, for clients that read one.
/// </summary>
public sealed class PostOnlyEndpointsMiddleware(RequestDelegate next)
{
    private static readonly PathString[] Paths =
    [
        "/" + OpenIddictSetup.Paths.Token, "/" + OpenIddictSetup.Paths.DeviceAuthorization,
        "/" + OpenIddictSetup.Paths.Introspection, "/" + OpenIddictSetup.Paths.Revocation,
    ];

    /// <summary>Answers 405 for a non-POST request to one of the endpoints; passes everything else on.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsPost(context.Request.Method) || !Array.Exists(Paths, p => context.Request.Path.Equals(p, StringComparison.OrdinalIgnoreCase)))
            return next(context);
        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        context.Response.Headers.Allow = HttpMethods.Post;
        OAuthHttp.NoStore(context.Response);
        return context.Response.WriteAsJsonAsync(new Dictionary<string, string>
        {
            ["error"] = OpenIddict.Abstractions.OpenIddictConstants.Errors.InvalidRequest,
            ["error_description"] = "This endpoint accepts POST only.",
        });
    }
}
