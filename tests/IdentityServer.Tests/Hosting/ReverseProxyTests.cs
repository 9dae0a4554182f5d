using System.Net;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Hosting;

/// <summary>Behind a TLS-terminating proxy on loopback (a real Kestrel port): X-Forwarded-Proto makes the https-only cookies work.</summary>
public sealed class ReverseProxyTests
{
    [Fact]
    public async Task HttpsIssuer_BehindLoopbackProxy_LoginPageWorksOverPlainHttp()
    {
        using var factory = new IdentityServerFactory();
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(address) };
        var proxied = new HttpRequestMessage(HttpMethod.Get, "/account/login");
        proxied.Headers.Add("X-Forwarded-Proto", "https");
        var page = await http.SendAsync(proxied);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains(page.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-idsrv.af=") && c.Contains("secure"));

        // Without the header the request is plain http: GET is sent to the https issuer, a POST is refused, neither is a 500.
        var direct = await http.GetAsync("/account/login?x=1");
        Assert.Equal(HttpStatusCode.PermanentRedirect, direct.StatusCode);
        Assert.Equal(IdentityServerFactory.Issuer + "/account/login?x=1", direct.Headers.Location!.OriginalString);
        var post = await http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }));
        await Json.ErrorAsync(post, HttpStatusCode.BadRequest, "invalid_request");
    }
}
