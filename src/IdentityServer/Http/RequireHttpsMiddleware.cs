using IdentityServer.Options;

namespace IdentityServer.Http;

/// <summary>
/// With an https issuer, a request that arrives over plain http (after forwarded headers are applied) is not served:
/// GET and HEAD get 308 to the same path on the issuer; other methods get 400 <c>invalid_request</c>, since their body
/// may already have crossed the network in clear (RFC 6749 §3.1, §3.2: the endpoints require TLS). The health probes and the
/// metrics are the exception: a load balancer, container runtime or scraper asks the node itself, over plain http.
/// </summary>
public sealed class RequireHttpsMiddleware(RequestDelegate next, IdentityServerOptions options)
{
    private readonly bool _httpsIssuer = options.Issuer.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Redirects or refuses plain-http requests; passes everything else on.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        if (!_httpsIssuer || context.Request.IsHttps || IdentityServer.Hosting.Telemetry.IsOperational(context.Request.Path)) return next(context);
        if (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status308PermanentRedirect;
            context.Response.Headers.Location = options.IssuerBase + context.Request.Path + context.Request.QueryString;
            return Task.CompletedTask;
        }
        OAuthHttp.NoStore(context.Response);
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return context.Response.WriteAsJsonAsync(new Dictionary<string, string> { ["error"] = "invalid_request", ["error_description"] = "This server requires https." });
    }
}
