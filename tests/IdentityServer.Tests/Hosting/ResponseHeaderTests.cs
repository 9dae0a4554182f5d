using System.Net;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Tests.Hosting;

/// <summary>
/// Headers the real server process writes, behind a TLS-terminating proxy on loopback (<c>X-Forwarded-Proto: https</c>): HSTS
/// (RFC 6797, ASVS 5.0 3.4.1), no <c>Server</c> banner, and <c>Cache-Control: no-store</c> on every answer of the authorization
/// endpoint (RFC 6749 §5.1's reasoning applies to what it shows and where it sends people).
/// </summary>
public sealed class ResponseHeaderTests
{
    private static HttpRequestMessage ViaProxy(HttpMethod method, string path, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        request.Headers.Add("X-Forwarded-Proto", "https");
        return request;
    }

    [Fact]
    public async Task HttpsIssuer_HstsOnEveryHttpsResponse_NeverOverPlainHttp_AndNoServerBanner()
    {
        await using var server = await ServerProcess.StartAsync();
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/.well-known/openid-configuration"), (HttpMethod.Get, "/account/login"),
                     (HttpMethod.Post, "/connect/token"), (HttpMethod.Get, "/no-such-page") })
        {
            var r = await server.Http.SendAsync(ViaProxy(method, path, method == HttpMethod.Post ? new FormUrlEncodedContent([]) : null));
            Assert.Equal("max-age=31536000", string.Join(",", r.Headers.GetValues("Strict-Transport-Security")));
            Assert.False(r.Headers.Contains("Server"), $"{path} sent Server: {string.Join(",", r.Headers.TryGetValues("Server", out var v) ? v : [])}");
        }

        // Plain http (no proxy saying otherwise) is sent to the https issuer, without HSTS (RFC 6797 §7.2) and without a banner.
        var plain = await server.Http.GetAsync("/account/login");
        Assert.Equal(HttpStatusCode.PermanentRedirect, plain.StatusCode);
        Assert.False(plain.Headers.Contains("Strict-Transport-Security"));
        Assert.False(plain.Headers.Contains("Server"));
    }

    [Fact]
    public async Task IncludeSubDomains_WhenConfigured()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["IdentityServer__Hsts__IncludeSubDomains"] = "true", ["IdentityServer__Hsts__MaxAgeSeconds"] = "63072000",
        });
        var r = await server.Http.SendAsync(ViaProxy(HttpMethod.Get, "/.well-known/openid-configuration"));
        Assert.Equal("max-age=63072000; includeSubDomains", string.Join(",", r.Headers.GetValues("Strict-Transport-Security")));
    }

    [Fact]
    public async Task AuthorizationEndpoint_EveryAnswer_NoStore()
    {
        await using var server = await ServerProcess.StartAsync();
        Dictionary<string, string?> Good() => new()
        {
            ["client_id"] = "web", ["redirect_uri"] = IdentityServerFactory.WebRedirect, ["response_type"] = "code", ["scope"] = "openid",
            ["code_challenge"] = Hashes.S256Challenge(OidcDriver.NewVerifier()), ["code_challenge_method"] = "S256", ["state"] = "s",
        };
        var cases = new List<(string Name, Dictionary<string, string?> Parameters, HttpStatusCode Status)>
        {
            ("sign-in needed", Good(), HttpStatusCode.Redirect),
            ("unknown client: a page", new(Good()) { ["client_id"] = "nobody" }, HttpStatusCode.BadRequest),
            ("unregistered redirect_uri: a page", new(Good()) { ["redirect_uri"] = "https://evil.example/cb" }, HttpStatusCode.BadRequest),
            ("bad scope: back to the client", new(Good()) { ["scope"] = "openid nonsense" }, HttpStatusCode.Redirect),
        };
        foreach (var (name, parameters, status) in cases)
        {
            var r = await server.Http.SendAsync(ViaProxy(HttpMethod.Get, QueryHelpers.AddQueryString("/connect/authorize", parameters)));
            Assert.True(r.StatusCode == status, $"{name}: {(int)r.StatusCode}");
            Assert.True(r.Headers.CacheControl?.NoStore == true, $"{name}: Cache-Control {r.Headers.CacheControl}");
        }
        foreach (var method in new[] { HttpMethod.Head, HttpMethod.Put })
        {
            var other = await server.Http.SendAsync(ViaProxy(method, "/connect/authorize?client_id=web"));
            Assert.Equal(HttpStatusCode.MethodNotAllowed, other.StatusCode);
            Assert.True(other.Headers.CacheControl?.NoStore == true, $"{method}: Cache-Control {other.Headers.CacheControl}");
        }
        var plain = await server.Http.GetAsync(QueryHelpers.AddQueryString("/connect/authorize", Good()));
        Assert.Equal(HttpStatusCode.PermanentRedirect, plain.StatusCode);
        Assert.True(plain.Headers.CacheControl?.NoStore == true, $"plain http redirect: Cache-Control {plain.Headers.CacheControl}");
        var repeated = await server.Http.SendAsync(ViaProxy(HttpMethod.Get, "/connect/authorize?client_id=web&client_id=web"));
        Assert.True(repeated.Headers.CacheControl?.NoStore == true, $"repeated parameter: Cache-Control {repeated.Headers.CacheControl}");
        var unreadable = await server.Http.SendAsync(ViaProxy(HttpMethod.Post, "/connect/authorize",
            new StringContent(string.Join("&", Enumerable.Range(0, 1100).Select(i => $"f{i}=x")), System.Text.Encoding.ASCII, "application/x-www-form-urlencoded")));
        Assert.Equal(HttpStatusCode.BadRequest, unreadable.StatusCode);
        Assert.True(unreadable.Headers.CacheControl?.NoStore == true, $"unreadable form: Cache-Control {unreadable.Headers.CacheControl}");
    }
}
