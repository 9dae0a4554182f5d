using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Options;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Http;

/// <summary>
/// Writes authorization responses to a <b>verified</b> redirect URI: <c>query</c> (RFC 6749 §4.1.2) or
/// <c>form_post</c> (OAuth 2.0 Form Post Response Mode §2), always with <c>iss</c> (RFC 9207 §2) and the
/// request's <c>state</c>. Errors before the redirect URI is verified go to <see cref="ErrorPage"/> instead.
/// </summary>
public static class AuthorizeResponder
{
    /// <summary>Sends the code.</summary>
    public static IResult Code(HttpContext http, IdentityServerOptions options, string redirectUri, string responseMode, string code, string? state) =>
        Respond(http, options, redirectUri, responseMode, state, new() { ["code"] = code });

    /// <summary>Sends <paramref name="error"/> to the client.</summary>
    public static IResult Error(HttpContext http, IdentityServerOptions options, string redirectUri, string responseMode, OAuthError error, string? state)
    {
        var values = new Dictionary<string, string> { ["error"] = error.Error };
        if (error.SafeDescription is { } d) values["error_description"] = d;
        return Respond(http, options, redirectUri, responseMode, state, values);
    }

    /// <summary>A readable error page for a person, with status 400: used when no redirect URI can be trusted.</summary>
    public static IResult ErrorPage(OAuthError error, string? clientName) =>
        HtmlPage.Render("Sign-in error",
            $"""
            <h1>This sign-in request cannot be completed</h1>
            <p>The application{(clientName is null ? "" : $" <strong>{HtmlPage.E(clientName)}</strong>")} sent a request this server cannot accept, so you were not sent back to it.</p>
            <p class="error"><code>{HtmlPage.E(error.Error)}</code>: {HtmlPage.E(error.SafeDescription)}</p>
            <p>If this keeps happening, tell the application's developers what this page says.</p>
            """, 400);

    private static IResult Respond(HttpContext http, IdentityServerOptions options, string redirectUri, string responseMode, string? state, Dictionary<string, string> values)
    {
        if (state is not null) values["state"] = state;
        values["iss"] = options.Issuer;
        OAuthHttp.NoStore(http.Response);
        if (responseMode == "form_post")
        {
            var inputs = string.Concat(values.Select(kv => $"<input type=\"hidden\" name=\"{HtmlPage.E(kv.Key)}\" value=\"{HtmlPage.E(kv.Value)}\">"));
            // The page posts to the client's origin; the CSP nonce allows the one auto-submit script.
            http.Response.Headers.ContentSecurityPolicy = $"default-src 'none'; script-src 'nonce-{SecurityHeadersMiddleware.GetNonce(http)}'; style-src 'self'; form-action {new Uri(redirectUri).GetLeftPart(UriPartial.Authority)}; frame-ancestors 'none'; base-uri 'none'";
            return HtmlPage.Render("Continue",
                $"""<form method="post" action="{HtmlPage.E(redirectUri)}">{inputs}<noscript><p>Script is off. Press Continue to return to the application.</p></noscript><button type="submit">Continue</button></form>""",
                200, SecurityHeadersMiddleware.GetNonce(http), "document.forms[0].submit();");
        }
        return Results.Redirect(QueryHelpers.AddQueryString(redirectUri, values!));
    }
}
