using System.Text.Encodings.Web;

namespace IdentityServer.Http;

/// <summary>Small server-rendered pages written by the protocol adapters (error page, form_post); every value HTML-encoded.</summary>
public static class HtmlPage
{
    /// <summary>A complete HTML document with the site stylesheet. <paramref name="body"/> must already be encoded.</summary>
    public static IResult Render(string title, string body, int status = 200, string? scriptNonce = null, string? script = null) =>
        Results.Content(
            $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{E(title)}</title><link rel="stylesheet" href="/css/site.css"></head>
            <body><header class="top"><a href="/" class="brand">IdentityServer</a></header><main class="card">{body}</main>{(script is null ? "" : $"<script nonce=\"{scriptNonce}\">{script}</script>")}</body></html>
            """, "text/html; charset=utf-8", statusCode: status);

    /// <summary>HTML-encodes <paramref name="value"/>.</summary>
    public static string E(string? value) => HtmlEncoder.Default.Encode(value ?? "");
}
