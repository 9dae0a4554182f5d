using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Keys;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Lifecycle;

/// <summary>Automatic signing-key rotation with the injected clock: JWKS at each stage, old tokens validating, one rotation across nodes.</summary>
public sealed class KeyRotationTests : IDisposable
{
    private readonly List<IdentityServerFactory> _factories = [];

    private IdentityServerFactory Server(string? database = null, Action<IdentityServerFactory>? configure = null)
    {
        var f = database is null ? new IdentityServerFactory() : new IdentityServerFactory { Database = database, OwnsDatabase = false };
        configure?.Invoke(f);
        _factories.Add(f);
        return f;
    }

    public void Dispose()
    {
        foreach (var f in Enumerable.Reverse(_factories)) f.Dispose();
    }

    private static async Task<string> ClientTokenAsync(IdentityServerFactory f) =>
        (await Json.OkAsync(await new OidcDriver(f.CreateBrowser()).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, ServiceClient, ServiceSecret))).Str("access_token");

    private static async Task<List<string>> JwksKidsAsync(IdentityServerFactory f) =>
        JsonDocument.Parse(await f.CreateBrowser().GetStringAsync("/.well-known/jwks.json")).RootElement.GetProperty("keys").EnumerateArray().Select(k => k.Str("kid")).ToList();

    private static string Kid(string jwt) => new JsonWebToken(jwt).Kid;

    [Fact]
    public async Task Stages_PublishedThenActiveThenRetiredThenGone_OldTokensValidateWhilePublished()
    {
        var f = Server();
        var t1 = await ClientTokenAsync(f);
        var k1 = Kid(t1);
        Assert.Equal([k1], await JwksKidsAsync(f));

        // 83 days in (90-day rotation, 7-day lead): the successor is published, not yet signing.
        f.Clock.Advance(TimeSpan.FromDays(83) + TimeSpan.FromMinutes(1));
        var t2 = await ClientTokenAsync(f);
        Assert.Equal(k1, Kid(t2));
        var kids = await JwksKidsAsync(f);
        Assert.Equal(2, kids.Count);
        var k2 = kids.Single(k => k != k1);

        // 7 days later the successor signs; the old key is retired but still published, so its tokens validate.
        f.Clock.Advance(TimeSpan.FromDays(7));
        var t3 = await ClientTokenAsync(f);
        Assert.Equal(k2, Kid(t3));
        Assert.Equal(new[] { k1, k2 }.Order(), (await JwksKidsAsync(f)).Order());
        var jwks = await Tokens.JwksAsync(f.CreateBrowser());
        await Tokens.ValidateAsync(t1, jwks, "at+jwt");
        await Tokens.ValidateAsync(t3, jwks, "at+jwt");

        // Two days after retirement (longer than any token lives) the old key leaves JWKS.
        f.Clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromMinutes(1));
        Assert.Equal([k2], await JwksKidsAsync(f));
    }

    [Fact]
    public async Task RefreshTokens_OutliveTheRotationOfTheKeyThatWasActive_AndALeakedKeysWithdrawal()
    {
        // Refresh tokens, codes and device codes are signed with the server's own key, not a rotating one, so they live their
        // whole lifetime (here 14 days sliding, 200 days absolute) across rotations.
        var f = Server(configure: s => s.Settings["IdentityServer:Lifetimes:RefreshTokenAbsoluteSeconds"] = (200 * 86400).ToString());
        var d = new OidcDriver(f.CreateBrowser());
        var refresh = (await d.SignInAndGetTokensAsync()).Str("refresh_token");
        var k1 = Kid(await ClientTokenAsync(f));
        for (var i = 0; i < 10; i++)
        {
            f.Clock.Advance(TimeSpan.FromDays(13)); // 130 days: k1 retires after 90 and leaves JWKS two days later
            refresh = (await Json.OkAsync(await d.RefreshAsync(refresh))).Str("refresh_token");
        }
        Assert.DoesNotContain(k1, await JwksKidsAsync(f));

        await f.Services.GetRequiredService<ISigningKeyStore>().RotateAsync(immediately: true);
        var refreshed = await Json.OkAsync(await d.RefreshAsync(refresh));
        Assert.Equal(Kid(await ClientTokenAsync(f)), Kid(refreshed.Str("access_token")));
    }

    [Fact]
    public async Task TwoServersOnOneDatabase_RotateOnce()
    {
        var a = Server();
        await ClientTokenAsync(a);
        var b = Server(a.Database);
        await ClientTokenAsync(b);

        a.Clock.Advance(TimeSpan.FromDays(84));
        b.Clock.Advance(TimeSpan.FromDays(84));
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => ClientTokenAsync(i % 2 == 0 ? a : b)));

        using var scope = a.Services.CreateScope();
        var keys = await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().SigningKeys.AsNoTracking().ToListAsync();
        Assert.Equal(2, keys.Count);
        Assert.Equal((await JwksKidsAsync(a)).Order(), (await JwksKidsAsync(b)).Order());
    }

    [Fact]
    public async Task ForcedRotation_Now_NewKeySignsAtOnce_LeakedKeyWithdrawn()
    {
        var f = Server();
        var before = await ClientTokenAsync(f);
        var kids = await f.Services.GetRequiredService<ISigningKeyStore>().RotateAsync(immediately: true);
        var after = await ClientTokenAsync(f);
        Assert.Equal(kids.Single(), Kid(after));
        Assert.Equal([Kid(after)], await JwksKidsAsync(f));
        // Tokens signed with the withdrawn key are no longer trusted, here either.
        var introspection = await f.CreateBrowser().SendAsync(new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = before, ["client_id"] = ServiceClient, ["client_secret"] = ServiceSecret }),
        });
        Assert.False((await Json.OkAsync(introspection)).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task ForcedRotationOnOneNode_TokensFromItValidateOnTheOther_AtOnce()
    {
        var a = Server();
        await ClientTokenAsync(a);
        var b = Server(a.Database);
        await ClientTokenAsync(b); // b has loaded and cached the old key
        await a.Services.GetRequiredService<ISigningKeyStore>().RotateAsync(immediately: true);
        var fromA = await ClientTokenAsync(a);

        var introspection = await new OidcDriver(b.CreateBrowser()).Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/connect/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = fromA, ["client_id"] = ServiceClient, ["client_secret"] = ServiceSecret }),
        });
        Assert.True((await Json.OkAsync(introspection)).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task ForcedRotationOnOneNode_TheOtherSignsWithTheNewKey_AndDropsTheOldFromJwks_WithinTheRefreshInterval()
    {
        var a = Server();
        var b = Server(a.Database);
        await ClientTokenAsync(a);
        await ClientTokenAsync(b); // b has loaded the key that is about to be withdrawn
        var kid = (await a.Services.GetRequiredService<ISigningKeyStore>().RotateAsync(immediately: true)).Single();
        // The bound the README states for keys: a node loads the key table again at least once a minute.
        b.Clock.Advance(DbSigningKeyStore.RefreshInterval);
        Assert.Equal(kid, Kid(await ClientTokenAsync(b)));
        Assert.Equal([kid], await JwksKidsAsync(b));
    }

    [Fact]
    public async Task ForcedRotation_WithLead_PublishesFirst()
    {
        var f = Server();
        var before = Kid(await ClientTokenAsync(f));
        var kid = (await f.Services.GetRequiredService<ISigningKeyStore>().RotateAsync(immediately: false)).Single();
        Assert.Contains(kid, await JwksKidsAsync(f));
        Assert.Equal(before, Kid(await ClientTokenAsync(f)));
        f.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        Assert.Equal(kid, Kid(await ClientTokenAsync(f)));
    }

    [Fact]
    public async Task Es256AndPs256_PerClientIdTokenAlgorithm()
    {
        var f = Server(configure: s =>
        {
            s.Settings["IdentityServer:Keys:Algorithms:0"] = "RS256";
            s.Settings["IdentityServer:Keys:Algorithms:1"] = "ES256";
            s.Settings["IdentityServer:Keys:Algorithms:2"] = "PS256";
            s.Settings["IdentityServer:Clients:0:IdTokenSignedResponseAlg"] = "ES256";
            s.Settings["IdentityServer:Clients:3:IdTokenSignedResponseAlg"] = "PS256";
        });
        var jwksJson = JsonDocument.Parse(await f.CreateBrowser().GetStringAsync("/.well-known/jwks.json")).RootElement.GetProperty("keys");
        Assert.Equal(["ES256", "PS256", "RS256"], jwksJson.EnumerateArray().Select(k => k.Str("alg")).Order().ToArray());
        var ec = jwksJson.EnumerateArray().Single(k => k.Str("alg") == "ES256");
        Assert.Equal("EC", ec.Str("kty"));
        Assert.Equal("P-256", ec.Str("crv"));

        var discovery = await Json.OkAsync(await f.CreateBrowser().GetAsync("/.well-known/openid-configuration"));
        Assert.Equal(["RS256", "ES256", "PS256"], discovery.GetProperty("id_token_signing_alg_values_supported").EnumerateArray().Select(a => a.GetString()!).ToArray());

        var tokens = await new OidcDriver(f.CreateBrowser()).SignInAndGetTokensAsync("openid");
        var jwks = await Tokens.JwksAsync(f.CreateBrowser());
        Assert.Equal("ES256", (await Tokens.ValidateAsync(tokens.Str("id_token"), jwks, "JWT")).Alg);
        Assert.Equal("RS256", (await Tokens.ValidateAsync(tokens.Str("access_token"), jwks, "at+jwt")).Alg);

        var d = new OidcDriver(f.CreateBrowser());
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, PublicClient, PublicRedirect, "openid"));
        var spa = await Json.OkAsync(await d.RedeemCodeAsync(code, verifier, PublicClient, null, PublicRedirect));
        Assert.Equal("PS256", (await Tokens.ValidateAsync(spa.Str("id_token"), jwks, "JWT")).Alg);
    }

    [Fact]
    public async Task StoredClientWithAnAlgorithmNoLongerConfigured_GetsTheFirstOne_No500()
    {
        // A client registered (by the admin API, or carried over by an upgrade) for ES256 while ES256 had a key; the operator has
        // since removed ES256 from Keys:Algorithms. Its ID tokens are signed with RS256, and the log says why.
        var f = Server();
        using (var scope = f.Services.CreateScope())
        {
            var clients = scope.ServiceProvider.GetRequiredService<IdentityServer.Protocol.Clients.ClientApplicationManager>();
            await clients.CreateAsync(new IdentityServer.Protocol.Clients.ClientProfile
            {
                ClientId = "es256-app", Confidential = true, RedirectUris = [WebRedirect], GrantTypes = ["authorization_code"],
                Scopes = ["openid"], IdTokenSignedResponseAlg = "ES256",
            }, WebSecret);
        }
        var d = new OidcDriver(f.CreateBrowser());
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, "es256-app", WebRedirect, "openid"));
        var tokens = await Json.OkAsync(await d.RedeemCodeAsync(code, verifier, "es256-app", WebSecret, WebRedirect));
        Assert.Equal("RS256", (await Tokens.ValidateAsync(tokens.Str("id_token"), await Tokens.JwksAsync(f.CreateBrowser()), "JWT")).Alg);
        Assert.Contains(f.Logs.Entries, e => e.Message.Contains("No signing key for ES256"));
    }

    [Fact]
    public async Task UnconfiguredIdTokenAlgorithm_RefusedAtStartup() =>
        Assert.Contains("IdTokenSignedResponseAlg", await IdentityServer.Tests.Hosting.StartupConfigurationTests.RefusedAtStartupAsync(
            new() { ["IdentityServer__Clients__0__IdTokenSignedResponseAlg"] = "ES256" }));
}
