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

    /// <summary>Sets the headers, then calls the next middleware.</summary>
    public Task InvokeAsync(HttpContext context)
    {
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        context.Items[NonceKey] = nonce;
        var h = context.Response.Headers;
        h.ContentSecurityPolicy = $"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
        h.XFrameOptions = "DENY";
        h.XContentTypeOptions = "nosniff";
        h["Referrer-Policy"] = "no-referrer";
        if (_hsts is not null && context.Request.IsHttps) h.StrictTransportSecurity = _hsts;
        return next(context);
    }
}
