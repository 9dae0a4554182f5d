using IdentityServer.Protocol.Errors;

namespace IdentityServer.Http;

/// <summary>Writes OAuth JSON responses: <c>Cache-Control: no-store</c> (RFC 6749 §5.1) and error bodies (§5.2).</summary>
public static class OAuthHttp
{
    /// <summary>Marks the response uncacheable.</summary>
    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }

    /// <summary>A JSON error body <c>{"error","error_description"}</c> with the error's status; 401 adds <c>WWW-Authenticate: Basic</c>.</summary>
    public static IResult Error(HttpResponse response, OAuthError error)
    {
        NoStore(response);
        if (error.Status == 401) response.Headers.WWWAuthenticate = "Basic realm=\"IdentityServer\", charset=\"UTF-8\"";
        var body = new Dictionary<string, string> { ["error"] = error.Error };
        if (error.SafeDescription is { } d) body["error_description"] = d;
        return Results.Json(body, statusCode: error.Status);
    }
}
