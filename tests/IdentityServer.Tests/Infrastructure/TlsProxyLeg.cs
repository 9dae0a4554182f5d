namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// The plain-http leg from a TLS-terminating proxy on loopback to a real server process: every request says it came over https
/// (<c>X-Forwarded-Proto: https</c>). Keeps no cookies (the server's are Secure, so callers carry them by hand) and follows no redirects.
/// </summary>
public class TlsProxyLeg() : DelegatingHandler(new HttpClientHandler { UseCookies = false, AllowAutoRedirect = false })
{
    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Add("X-Forwarded-Proto", "https");
        return base.SendAsync(request, cancellationToken);
    }
}
