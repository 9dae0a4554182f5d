namespace IdentityServer.Http;

/// <summary>HTTP details of OAuth responses.</summary>
public static class OAuthHttp
{
    /// <summary>Marks the response uncacheable (RFC 6749 §5.1 for token responses; every response that carries or leads to a secret).</summary>
    public static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }
}
