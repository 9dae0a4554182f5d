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
        using var http = new HttpClient(new TlsProxyLeg()) { BaseAddress = new Uri(address) };
        var d = new OidcDriver(http);
        Task<HttpResponseMessage> Attempt(string clientId, string secret) =>
            d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, clientId, secret);

        foreach (var clientId in new[] { ServiceClient, AdminClient, "nobody-1", "nobody-2" })
            await Json.ErrorAsync(await Attempt(clientId, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertThrottledAsync(await Attempt(ServiceClient, ServiceSecret));
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
    public async Task ManyGuessesAtOnce_NoMoreThanTheLimitAreAnswered_TheRestAreThrottled()
    {
        var f = Server();
        var d = new OidcDriver(f.CreateBrowser()); // the server is up before the requests race
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() =>
            d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, ServiceClient, Wrong))));
        var answered = responses.Count(r => r.StatusCode == HttpStatusCode.Unauthorized);
        Assert.InRange(answered, 1, 3);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Unauthorized), r => Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode));
        foreach (var r in responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests)) await AssertThrottledAsync(r);
        // Audited once, however many requests passed the limit at once.
        using var scope = f.Services.CreateScope();
        Assert.Equal(1, await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().AuditEvents.CountAsync(e => e.Event == AuditEvents.ClientAuthenticationThrottled));
    }

    [Fact]
    public async Task PublicClient_CannotBeLockedOut_ByFailuresInItsName()
    {
        var f = Server();
        var d = new OidcDriver(f.CreateBrowser());
        for (var i = 0; i < 6; i++)
            await Json.ErrorAsync(await d.TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = "x", ["code_verifier"] = OidcDriver.NewVerifier(),
                ["redirect_uri"] = PublicRedirect }, PublicClient, "a-secret-a-public-client-does-not-have-0123456"), HttpStatusCode.Unauthorized, "invalid_client");
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, PublicClient, PublicRedirect, "openid"));
        await Json.OkAsync(await d.RedeemCodeAsync(code, verifier, PublicClient, null, PublicRedirect));
    }

    [Fact]
    public async Task UnknownClientAndWrongSecret_AnsweredAlike()
    {
        var f = Server();
        var unknown = await Json.ErrorAsync(await ClientCredentialsAsync(f, "no-such-client", Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        var wrong = await Json.ErrorAsync(await ClientCredentialsAsync(f, ServiceClient, Wrong), HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(unknown.Str("error_description"), wrong.Str("error_description"));
        Assert.False(unknown.TryGetProperty("error_uri", out _));
    }

    [Fact]
    public async Task DeviceAuthorization_CountsAndRefusesToo()
    {
        var f = Server();
        var device = new DeviceDriver(f);
        for (var i = 0; i < 3; i++)
            await Json.ErrorAsync(await device.AuthorizeDeviceAsync(DeviceTvClient, Wrong, "openid"), HttpStatusCode.Unauthorized, "invalid_client");
        await AssertThrottledAsync(await device.AuthorizeDeviceAsync(DeviceTvClient, DeviceTvSecret, "openid"));
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
        foreach (var path in new[] { "/connect/introspect", "/connect/revocation" })
        {
            var refused = await browser.PostAsync(path, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = "x", ["client_id"] = ServiceClient, ["client_secret"] = ServiceSecret,
            }));
            await AssertThrottledAsync(refused);
        }
    }
}
