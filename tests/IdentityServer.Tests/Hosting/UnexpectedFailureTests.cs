using System.Net;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Stores;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Hosting;

/// <summary>An unexpected failure is a spec-shaped <c>server_error</c> for programs and a readable page for people; no detail leaks.</summary>
public sealed class UnexpectedFailureTests
{
    private sealed class BrokenClientStore : IClientStore
    {
        public Task<Client?> FindByClientIdAsync(string clientId, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("store is down: secret-detail-42");
    }

    private static IdentityServerFactory Broken() => new() { ConfigureTestServices = s => s.AddScoped<IClientStore, BrokenClientStore>() };

    [Fact]
    public async Task TokenEndpoint_StoreThrows_500ServerErrorJson_NoDetail()
    {
        using var factory = Broken();
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.TokenAsync(new() { ["grant_type"] = "client_credentials" }, IdentityServerFactory.ServiceClient, IdentityServerFactory.ServiceSecret);
        var json = await Json.ErrorAsync(r, HttpStatusCode.InternalServerError, "server_error");
        Assert.DoesNotContain("secret-detail-42", json.ToString());
    }

    [Fact]
    public async Task AuthorizeEndpoint_StoreThrows_500ReadablePage_NoDetail()
    {
        using var factory = Broken();
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.AuthorizeAsync(OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier()));
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        var html = await r.Content.ReadAsStringAsync();
        Assert.Contains("Something went wrong", html);
        Assert.DoesNotContain("secret-detail-42", html);
    }
}
