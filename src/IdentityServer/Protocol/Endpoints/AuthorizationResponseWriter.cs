using IdentityServer.Http;
using Microsoft.AspNetCore.WebUtilities;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol.Endpoints;

/// <summary>
/// Writes an authorization response to a redirect URI that is registered for the client: <c>query</c> (RFC 6749 §4.1.2, 302 with the
/// parameters added) or <c>form_post</c> (OAuth 2.0 Form Post Response Mode §2: a page whose form posts them, submitted by a script the
/// page's CSP allows by nonce, with <c>form-action</c> limited to the redirect URI's origin). Every response is <c>Cache-Control:
/// no-store</c>. The caller verified the redirect URI and chose the parameters (<c>iss</c> and <c>state</c> included).
/// </summary>
public static class AuthorizationResponseWriter
{
    /// <summary>Writes the response; null or empty parameters are left out.</summary>
    public static Task WriteAsync(HttpContext http, string redirectUri, string? responseMode, IReadOnlyDictionary<string, string?> parameters)
    {
        var values = parameters.Where(kv => !string.IsNullOrEmpty(kv.Value)).ToList();
        OAuthHttp.NoStore(http.Response);
        if (responseMode == ResponseModes.FormPost)
        {
            var nonce = SecurityHeadersMiddleware.GetNonce(http);
            var inputs = string.Concat(values.Select(kv => $"<input type=\"hidden\" name=\"{HtmlPage.E(kv.Key)}\" value=\"{HtmlPage.E(kv.Value)}\">"));
            http.Response.Headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; form-action {new Uri(redirectUri).GetLeftPart(UriPartial.Authority)}; frame-ancestors 'none'; base-uri 'none'";
            return HtmlPage.Render("Continue",
                $"""<form method="post" action="{HtmlPage.E(redirectUri)}">{inputs}<noscript><p>Script is off. Press Continue to return to the application.</p></noscript><button type="submit">Continue</button></form>""",
                200, nonce, "document.forms[0].submit();").ExecuteAsync(http);
        }
        http.Response.StatusCode = StatusCodes.Status302Found;
        http.Response.Headers.Location = QueryHelpers.AddQueryString(redirectUri, values!);
        return Task.CompletedTask;
    }
}
