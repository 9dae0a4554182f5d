using System.Net;
using IdentityServer.Audit;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Token;

/// <summary>
/// RFC 6749 §2.3.1 (brute force against client secrets, issue 11 item 8): failed client authentications are counted per client and
/// per address, in the database, so every node shares the count; over the limit the answer is 429 with Retry-After, even for the
/// right secret, until the window ends; the throttling is audited.
/// </summary>
public sealed class ClientSecretThrottlingTests : IDisposable
{
    private readonly List<IdentityServerFactory> _factories = [];

    private IdentityServerFactory Server(int perClient = 3, int perAddress = 1000, string? database = null)
    {
        var f = database is null ? new IdentityServerFactory() : new IdentityServerFactory { Database = database, OwnsDatabase = false };
        f.Settings["IdentityServer:ClientAuthentication:FailuresPerClient"] = perClient.ToString();
        f.Settings["IdentityServer:ClientAuthentication:FailuresPerAddress"] = perAddress.ToString();
        f.Settings["IdentityServer:ClientAuthentication:WindowSeconds"] = "60";
        _factories.Add(f);
        return f;
    }

    public void Dispose()
    {
        foreach (var f in Enumerable.Reverse(_factories)) f.Dispose();
    }

    private static Task<HttpResponseMessage> ClientCredentialsAsync(IdentityServerFactory f, string clientId, string secret) =>
        new OidcDriver(f.CreateBrowser()).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, clientId, secret);

    private const string Wrong = "wrong-secret-0123456789-0123456789-0123456789";

    private static async Task AssertThrottledAsync(HttpResponseMessage r, int windowSeconds = 60)
    {
        await Json.ErrorAsync(r, HttpStatusCode.TooManyRequests, "temporarily_unavailable");
        Assert.InRange(int.Parse(r.Headers.GetValues("Retry-After").Single()), 1, windowSeconds);
    }

    [Fact]
    public async Task AfterTheLimit_EvenTheRightSecretWaits_429RetryAfter_ThenWorksWhenTheWindowEnds()
    {
        var f = Server();
        for (var i = 0; i < 3; i++)
            await Json.ErrorAsync(await ClientCredentialsAsync(f, ServiceClient, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertThrottledAsync(await ClientCredentialsAsync(f, ServiceClient, Wrong));
        await AssertThrottledAsync(await ClientCredentialsAsync(f, ServiceClient, ServiceSecret));

        // Another client is not held up by this one's failures.
        await Json.OkAsync(await new OidcDriver(f.CreateBrowser()).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "idp.admin" }, AdminClient, AdminSecret));

        using (var scope = f.Services.CreateScope())
        {
            var audit = await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().AuditEvents.AsNoTracking()
                .Where(e => e.Event == AuditEvents.ClientAuthenticationThrottled).ToListAsync();
            Assert.Equal(ServiceClient, Assert.Single(audit).SubjectId);
        }

        // The window ends: the right secret works again, without waiting for anything else.
        f.Clock.Advance(TimeSpan.FromSeconds(61));
        await Json.OkAsync(await ClientCredentialsAsync(f, ServiceClient, ServiceSecret));
    }

    [Fact]
    public async Task OneAddressGuessingManyClients_IsHeldUp_ByItsOwnCount()
    {
        // A real Kestrel port, so the caller has an address (127.0.0.1), behind a TLS-terminating proxy on loopback.
        var f = Server(perClient: 1000, perAddress: 4);
        f.UseKestrel(0);
        f.StartServer();
        var address = f.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient(new ProxyHeader()) { BaseAddress = new Uri(address) };
        var d = new OidcDriver(http);
        Task<HttpResponseMessage> Attempt(string clientId, string secret) =>
            d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, clientId, secret);

        foreach (var clientId in new[] { ServiceClient, AdminClient, "nobody-1", "nobody-2" })
            await Json.ErrorAsync(await Attempt(clientId, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertThrottledAsync(await Attempt(ServiceClient, ServiceSecret));
    }

    /// <summary>Says the request came over https, as a TLS-terminating proxy on loopback does.</summary>
    private sealed class ProxyHeader() : DelegatingHandler(new HttpClientHandler { AllowAutoRedirect = false })
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Add("X-Forwarded-Proto", "https");
            return base.SendAsync(request, cancellationToken);
        }
    }

    [Fact]
    public async Task TwoNodesOnOneDatabase_ShareTheCount()
    {
        var a = Server();
        var b = Server(database: a.Database);
        await Json.ErrorAsync(await ClientCredentialsAsync(a, ServiceClient, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.ErrorAsync(await ClientCredentialsAsync(b, ServiceClient, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.ErrorAsync(await ClientCredentialsAsync(a, ServiceClient, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertThrottledAsync(await ClientCredentialsAsync(b, ServiceClient, ServiceSecret));
    }

    [Fact]
    public async Task IntrospectionAndRevocation_CountAndRefuseToo()
    {
        var f = Server();
        var browser = f.CreateBrowser();
        for (var i = 0; i < 3; i++)
        {
            var path = i % 2 == 0 ? "/connect/introspect" : "/connect/revocation";
            var r = await browser.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = "x", ["client_id"] = ServiceClient, ["client_secret"] = Wrong,
            }));
            await Json.ErrorAsync(r, HttpStatusCode.Unauthorized, "invalid_client");
        }
        var refused = await browser.PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = "x", ["client_id"] = ServiceClient, ["client_secret"] = ServiceSecret,
        }));
        await AssertThrottledAsync(refused);
    }
}
