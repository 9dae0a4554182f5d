using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Operations;

/// <summary>The Prometheus scrape endpoint <c>/metrics</c>: the server's own counters move, and only allowed callers read them.</summary>
public class MetricsTests
{
    private const string Service = "svc";
    private const string ServiceSecret = "svc-secret-0123456789-0123456789-0123456789";

    /// <summary>The sum of the samples of <paramref name="metric"/> whose labels include every one of <paramref name="labels"/> (<c>name="value"</c>).</summary>
    internal static double Sample(string scrape, string metric, params string[] labels) =>
        scrape.Split('\n')
            .Where(l => l.StartsWith(metric + "{", StringComparison.Ordinal) && labels.All(l.Contains))
            .Sum(l => double.Parse(l[(l.LastIndexOf('}') + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture));

    private static async Task<string> ScrapeAsync(HttpClient http)
    {
        var response = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>Scrapes until <paramref name="done"/> holds (the exporter caches a scrape for a moment), at most 10 s.</summary>
    private static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string scrape;
        while (!done(scrape = await ScrapeAsync(http)) && DateTime.UtcNow < deadline) await Task.Delay(200);
        return scrape;
    }

    [Fact]
    public async Task Counters_Move_AfterATokenAFailedClientAuthenticationAndAFailedSignIn()
    {
        await using var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["IdentityServer__Clients__1__ClientId"] = Service,
            ["IdentityServer__Clients__1__ClientSecret"] = ServiceSecret,
            ["IdentityServer__Clients__1__GrantTypes__0"] = "client_credentials",
            ["IdentityServer__Clients__1__Scopes__0"] = "api1",
        });
        using var http = new HttpClient(new TlsProxyLeg()) { BaseAddress = server.Address };
        var before = await ScrapeAsync(http);
        const string issued = "idsrv_tokens_issued_total";
        var issuedLabels = new[] { "grant_type=\"client_credentials\"", $"client_id=\"{Service}\"" };

        var token = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = Service, ["client_secret"] = ServiceSecret,
        }));
        Assert.Equal(HttpStatusCode.OK, token.StatusCode);
        var refused = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = Service, ["client_secret"] = "wrong-" + ServiceSecret,
        }));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        var page = await http.GetAsync("/account/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        // The cookies are Secure (the issuer is https), so they are carried by hand over the proxy's plain-http leg.
        var post = new HttpRequestMessage(HttpMethod.Post, "/account/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Input.UserName"] = "nobody", ["Input.Password"] = "not-the-password-1234", ["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page),
            }),
        };
        post.Headers.Add("Cookie", string.Join("; ", page.Headers.GetValues("Set-Cookie").Select(c => c.Split(';')[0])));
        var signIn = await http.SendAsync(post);
        Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);

        string[] signInLabels = ["method=\"pwd\"", "outcome=\"failure\""];
        var after = await ScrapeUntilAsync(http, s => Sample(s, issued, issuedLabels) > Sample(before, issued, issuedLabels)
            && Sample(s, "idsrv_signins_total", signInLabels) > Sample(before, "idsrv_signins_total", signInLabels));
        Assert.Equal(Sample(before, issued, issuedLabels) + 1, Sample(after, issued, issuedLabels));
        Assert.Equal(Sample(before, "idsrv_token_errors_total", "error=\"invalid_client\"") + 1, Sample(after, "idsrv_token_errors_total", "error=\"invalid_client\""));
        Assert.Equal(Sample(before, "idsrv_signins_total", signInLabels) + 1, Sample(after, "idsrv_signins_total", signInLabels));
        Assert.True(Sample(after, "idsrv_request_duration_seconds_count", "endpoint=\"token\"") >= 2);
        Assert.True(Sample(after, "idsrv_signing_keys_rotations_total", "reason=\"initial\"") >= 1, "the first key made at start-up is counted");
        // The framework's and the runtime's instruments are there too.
        Assert.Contains("http_server_request_duration_seconds", after);
        Assert.Contains("dotnet_gc_", after);
    }

    [Fact]
    public async Task RemoteCaller_IsRefused_UnlessItSendsTheConfiguredBearerSecret()
    {
        // The test server's connections have no address: not loopback, so they stand for a remote caller.
        using (var closed = new IdentityServerFactory())
        {
            var response = await closed.CreateBrowser().GetAsync("/metrics");
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.DoesNotContain("idsrv_", await response.Content.ReadAsStringAsync());
        }

        const string secret = "scrape-secret-0123456789-0123456789";
        using var factory = new IdentityServerFactory();
        factory.Settings["IdentityServer:Metrics:BearerToken"] = secret;
        var http = factory.CreateBrowser();

        var anonymous = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.StartsWith("Bearer", anonymous.Headers.WwwAuthenticate.ToString());

        var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", secret + "x") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);

        var right = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", secret) } };
        var scrape = await http.SendAsync(right);
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.Contains("# TYPE", Encoding.UTF8.GetString(await scrape.Content.ReadAsByteArrayAsync()));
    }
}
