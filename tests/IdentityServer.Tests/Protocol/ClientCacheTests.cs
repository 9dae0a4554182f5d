using System.Net;
using IdentityServer.Admin;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Protocol;

/// <summary>
/// Each node keeps the clients it read for <c>IdentityServer:Cache:ClientSeconds</c> (issue 13): a change made through a node applies
/// there at once; one made through another node on the same database applies here once that many seconds have passed on this node's
/// clock. Two hosts on one database file stand for two nodes; each has its own clock, moved by hand.
/// </summary>
public sealed class ClientCacheTests : IDisposable
{
    private readonly List<IdentityServerFactory> _factories = [];
    private static readonly AdminActor Actor = new("cli", "test");

    private IdentityServerFactory Node(string? database = null, int clientSeconds = 5)
    {
        var f = database is null ? new IdentityServerFactory() : new IdentityServerFactory { Database = database, OwnsDatabase = false };
        f.Settings["IdentityServer:Cache:ClientSeconds"] = clientSeconds.ToString();
        _factories.Add(f);
        return f;
    }

    /// <summary>Two nodes on one database, both started (so that starting one does not eat into the other's bound).</summary>
    private (IdentityServerFactory A, IdentityServerFactory B) TwoNodes(int clientSeconds = 5)
    {
        var a = Node(clientSeconds: clientSeconds);
        var b = Node(database: a.Database, clientSeconds: clientSeconds);
        _ = a.Services;
        _ = b.Services;
        return (a, b);
    }

    public void Dispose()
    {
        foreach (var f in Enumerable.Reverse(_factories)) f.Dispose();
    }

    private static Task<HttpResponseMessage> TokenAsync(IdentityServerFactory f, string clientId, string secret) =>
        new OidcDriver(f.CreateBrowser()).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, clientId, secret);

    private static async Task<T> AdminAsync<T>(IdentityServerFactory f, Func<ClientAdministration, Task<AdminResult<T>>> action)
    {
        using var scope = f.Services.CreateScope();
        var result = await action(scope.ServiceProvider.GetRequiredService<ClientAdministration>());
        Assert.True(result.Succeeded, string.Join(" ", result.Errors ?? []));
        return result.Value!;
    }

    /// <summary>A confidential client_credentials client with one scope, as an admin defines it.</summary>
    private static ClientDefinition Definition(string clientId, string scope, bool enabled = true) => new()
    {
        ClientId = clientId, Confidential = true, Enabled = enabled, GrantTypes = ["client_credentials"], Scopes = [scope],
    };

    private static Task<CreatedClient> CreateClientAsync(IdentityServerFactory f, string clientId, string scope = ApiScope) =>
        AdminAsync(f, a => a.CreateAsync(Definition(clientId, scope), Actor));

    private static Task<ClientView> DisableClientAsync(IdentityServerFactory f, string clientId, string scope = ApiScope) =>
        AdminAsync(f, a => a.UpdateAsync(clientId, Definition(clientId, scope, enabled: false), Actor));

    [Fact]
    public async Task ClientDisabledOnAnotherNode_StillServedHere_UntilTheBoundPasses_ThenRefused()
    {
        var (a, b) = TwoNodes();
        var created = await CreateClientAsync(a, "cached-ops");
        await Json.OkAsync(await TokenAsync(a, "cached-ops", created.Secret!)); // node a now holds the client

        await DisableClientAsync(b, "cached-ops");
        await Json.ErrorAsync(await TokenAsync(b, "cached-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");

        // Node a uses what it read (a few moments ago) until 5 s have passed on its clock since then.
        await Json.OkAsync(await TokenAsync(a, "cached-ops", created.Secret!));
        a.Clock.Advance(TimeSpan.FromSeconds(5));
        await Json.ErrorAsync(await TokenAsync(a, "cached-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task SecretRotatedOnAnotherNode_NewSecretWorksHereAtOnce_ThenTheOldOneIsRefusedHereToo()
    {
        var (a, b) = TwoNodes();
        var created = await CreateClientAsync(a, "rotated-ops");
        await Json.OkAsync(await TokenAsync(a, "rotated-ops", created.Secret!));

        var rotated = await AdminAsync(b, x => x.RotateSecretAsync("rotated-ops", 0, Actor)); // the old secret ends now
        await Json.ErrorAsync(await TokenAsync(b, "rotated-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.OkAsync(await TokenAsync(a, "rotated-ops", created.Secret!)); // a's copy is within its bound
        // A secret a's copy does not know makes a read the client again: the new secret works at once, and the old one is refused.
        await Json.OkAsync(await TokenAsync(a, "rotated-ops", rotated.Secret));
        await Json.ErrorAsync(await TokenAsync(a, "rotated-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task ClientDisabledAndRotatedOnAnotherNode_TheNewSecretDoesNotReviveItHere()
    {
        var (a, b) = TwoNodes();
        var created = await CreateClientAsync(a, "retired-ops");
        await Json.OkAsync(await TokenAsync(a, "retired-ops", created.Secret!));

        var rotated = await AdminAsync(b, x => x.RotateSecretAsync("retired-ops", 0, Actor));
        await DisableClientAsync(b, "retired-ops");
        // The unknown secret makes node a read the client again, and what it reads is a disabled client.
        await Json.ErrorAsync(await TokenAsync(a, "retired-ops", rotated.Secret), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task ClientDisabledOnAnotherNode_ItsTokensAreRefusedHereAtOnce()
    {
        var (a, b) = TwoNodes();
        var created = await CreateClientAsync(a, "ops-bot", "idp.admin");
        var token = (await Json.OkAsync(await new OidcDriver(a.CreateBrowser()).TokenAsync(
            new() { ["grant_type"] = "client_credentials", ["scope"] = "idp.admin" }, "ops-bot", created.Secret!))).Str("access_token");
        async Task<HttpStatusCode> AdminApiOnAAsync()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/clients");
            request.Headers.Authorization = new("Bearer", token);
            return (await a.CreateBrowser().SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await AdminApiOnAAsync());

        await DisableClientAsync(b, "ops-bot", "idp.admin");
        // Node a still holds the enabled client in its cache, but the token check reads the database.
        Assert.Equal(HttpStatusCode.Unauthorized, await AdminApiOnAAsync());
    }

    [Fact]
    public async Task RedirectUriChangedOnAnotherNode_AuthorizationEndpointFollowsOnceTheBoundPasses()
    {
        // A 60 s bound, so that the steps before the clock is moved never outlast it on a loaded machine.
        var (a, b) = TwoNodes(clientSeconds: 60);
        ClientDefinition App(string redirectUri) => new()
        {
            ClientId = "cached-app", Confidential = false, GrantTypes = ["authorization_code"], Scopes = ["openid"], RedirectUris = [redirectUri],
        };
        async Task<HttpStatusCode> AuthorizeOnAAsync(string redirectUri)
        {
            var parameters = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), "cached-app", redirectUri, "openid");
            var r = await new OidcDriver(a.CreateBrowser()).AuthorizeAsync(parameters);
            // A valid request goes on to sign-in; a redirect URI the client does not have gets an error page that says so.
            if (r.StatusCode == HttpStatusCode.Redirect) Assert.StartsWith("/account/login", r.Headers.Location!.OriginalString);
            else Assert.Contains("redirect_uri", await r.Content.ReadAsStringAsync());
            return r.StatusCode;
        }
        await AdminAsync(a, x => x.CreateAsync(App("https://app.example/one"), Actor));
        Assert.Equal(HttpStatusCode.Redirect, await AuthorizeOnAAsync("https://app.example/one"));

        await AdminAsync(b, x => x.UpdateAsync("cached-app", App("https://app.example/two"), Actor));
        Assert.Equal(HttpStatusCode.Redirect, await AuthorizeOnAAsync("https://app.example/one")); // a's copy is within its bound
        Assert.Equal(HttpStatusCode.BadRequest, await AuthorizeOnAAsync("https://app.example/two"));

        a.Clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.BadRequest, await AuthorizeOnAAsync("https://app.example/one"));
        Assert.Equal(HttpStatusCode.Redirect, await AuthorizeOnAAsync("https://app.example/two"));
    }

    [Fact]
    public async Task ChangesThroughThisNode_ApplyHereAtOnce()
    {
        var a = Node();
        var created = await CreateClientAsync(a, "local-ops");
        await Json.OkAsync(await TokenAsync(a, "local-ops", created.Secret!));

        var rotated = await AdminAsync(a, x => x.RotateSecretAsync("local-ops", 0, Actor));
        await Json.ErrorAsync(await TokenAsync(a, "local-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.OkAsync(await TokenAsync(a, "local-ops", rotated.Secret));

        await AdminAsync(a, x => x.DeleteAsync("local-ops", Actor));
        await Json.ErrorAsync(await TokenAsync(a, "local-ops", rotated.Secret), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task UnknownClientId_IsNotRemembered_SoAClientCreatedOnAnotherNodeWorksHereAtOnce()
    {
        var a = Node();
        var b = Node(database: a.Database);
        await Json.ErrorAsync(await TokenAsync(a, "new-ops", "no-such-secret-0123456789-0123456789-0123"), HttpStatusCode.Unauthorized, "invalid_client");
        var created = await CreateClientAsync(b, "new-ops");
        await Json.OkAsync(await TokenAsync(a, "new-ops", created.Secret!));
    }

    [Fact]
    public async Task ZeroSeconds_EveryLookupReadsTheDatabase()
    {
        var a = Node(clientSeconds: 0);
        var b = Node(database: a.Database);
        var created = await CreateClientAsync(a, "uncached-ops");
        await Json.OkAsync(await TokenAsync(a, "uncached-ops", created.Secret!));
        await AdminAsync(b, x => x.DeleteAsync("uncached-ops", Actor));
        await Json.ErrorAsync(await TokenAsync(a, "uncached-ops", created.Secret!), HttpStatusCode.Unauthorized, "invalid_client");
    }
}
