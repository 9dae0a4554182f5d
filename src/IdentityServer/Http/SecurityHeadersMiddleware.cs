using System.Security.Cryptography;
using IdentityServer.Options;

namespace IdentityServer.Http;

/// <summary>
/// Adds security headers to every response: a Content-Security-Policy with <c>frame-ancestors 'none'</c> and a
/// per-response script nonce (<see cref="GetNonce"/>), <c>X-Frame-Options: DENY</c>, <c>X-Content-Type-Options:
/// nosniff</c>, <c>Referrer-Policy: no-referrer</c> (keeps codes out of Referer headers; RFC 9700 §4.2.4), and, when the issuer is
/// https and the request came over https, <c>Strict-Transport-Security</c> (RFC 6797 §6.1; ASVS 5.0 3.4.1) as
/// <see cref="HstsOptions"/> say. (ASP.NET Core's own HSTS middleware leaves out loopback hosts, which this server does not.)
/// </summary>
public sealed class SecurityHeadersMiddleware(RequestDelegate next, IdentityServerOptions options)
{
    private readonly string? _hsts = options.Issuer.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
        ? $"max-age={options.Hsts.MaxAgeSeconds}" + (options.Hsts.IncludeSubDomains ? "; includeSubDomains" : "")
        : null;

    private const string NonceKey = "csp-nonce";

    /// <summary>The CSP nonce of this response, for an inline script such as the form_post auto-submit.</summary>
    public static string GetNonce(HttpContext context) => (string)context.Items[NonceKey]!;

    /// <summary>
    /// Calls the next middleware; the headers are set when the response starts, so they are on every response, also one an exception
    /// handler or the https redirect made after clearing the response. Every answer of the authorization endpoint, whatever wrote it
    /// (a page, a redirect, a 405), is <c>Cache-Control: no-store</c>: it may carry or lead to a code (RFC 6749 §4.1.2, RFC 9700 §4.2.4).
    /// </summary>
    public Task InvokeAsync(HttpContext context)
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        context.Items[NonceKey] = nonce;
        var authorization = context.Request.Path.StartsWithSegments(AuthorizationPath, StringComparison.OrdinalIgnoreCase);
        context.Response.OnStarting(() =>
        {
            // A response that set its own policy (the form_post page adds form-action) keeps it.
            var h = context.Response.Headers;
            h.TryAdd("Content-Security-Policy", $"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
            h.XFrameOptions = "DENY"; // over antiforgery's SAMEORIGIN: no page here is ever framed
            h.TryAdd("X-Content-Type-Options", "nosniff");
            h.TryAdd("Referrer-Policy", "no-referrer");
            if (_hsts is not null && context.Request.IsHttps) h.StrictTransportSecurity = _hsts;
            if (authorization) OAuthHttp.NoStore(context.Response);
            return Task.CompletedTask;
        });
        return next(context);
    }

    private static readonly PathString AuthorizationPath = "/" + Protocol.OpenIddictSetup.Paths.Authorization;
}
