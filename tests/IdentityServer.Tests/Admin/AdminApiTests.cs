using OpenIddict.EntityFrameworkCore.Models;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Admin;

/// <summary>The admin API: who may call it (RFC 6750: 401 vs 403), CRUD through it, RFC 9457 problems for bad input, audit.</summary>
public sealed class AdminApiTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    /// <summary>Every route with a request that succeeds for an admin (on objects that may or may not exist).</summary>
    public static TheoryData<string, string, string?> Routes => new()
    {
        { "GET", "/admin/api/clients", null },
        { "POST", "/admin/api/clients", """{"client_id":"matrix-client","confidential":true,"grant_types":["client_credentials"],"scopes":["api1"]}""" },
        { "GET", "/admin/api/clients/web", null },
        { "PUT", "/admin/api/clients/matrix-client", """{"grant_types":["client_credentials"],"scopes":["api1"]}""" },
        { "POST", "/admin/api/clients/matrix-client/secrets", """{"overlap_days":1}""" },
        { "DELETE", "/admin/api/clients/matrix-client", null },
        { "GET", "/admin/api/users", null },
        { "POST", "/admin/api/users", """{"user_name":"matrix-user","password":"matrix-user-password"}""" },
        { "GET", "/admin/api/users/alice", null },
        { "POST", "/admin/api/users/matrix-user/lock", null },
        { "POST", "/admin/api/users/matrix-user/unlock", null },
        { "POST", "/admin/api/users/matrix-user/password", """{"password":"another-matrix-password"}""" },
        { "DELETE", "/admin/api/users/matrix-user", null },
        { "GET", "/admin/api/keys", null },
        { "GET", "/admin/api/audit", null },
    };

    private HttpClient Http { get; } = factory.CreateClient(new() { AllowAutoRedirect = false, BaseAddress = new Uri(Issuer) });

    private Task<HttpResponseMessage> SendAsync(string method, string path, string? body, string? token)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null) request.Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return Http.SendAsync(request);
    }

    private async Task<string> ClientTokenAsync(string clientId, string secret, string scope) =>
        (await Json.OkAsync(await new OidcDriver(Http).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = scope }, clientId, secret))).Str("access_token");

    private async Task<string> UserTokenAsync(string userName, string password, string scope)
    {
        var d = new OidcDriver(factory.CreateBrowser());
        Assert.Equal(HttpStatusCode.Redirect, (await d.SubmitLoginAsync(userName, password)).StatusCode);
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, scope: scope));
        return (await Json.OkAsync(await d.RedeemCodeAsync(code, verifier))).Str("access_token");
    }

    private static async Task AssertProblemAsync(HttpResponseMessage r, HttpStatusCode status)
    {
        Assert.Equal(status, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
    }

    [Theory]
    [MemberData(nameof(Routes))]
    public async Task EveryRoute_AuthorizationMatrix(string method, string path, string? body)
    {
        // Not authenticated: no token, a forged one, another audience → 401 with a Bearer challenge.
        foreach (var token in new[] { null, "not.a.jwt", await ClientTokenAsync(ServiceClient, ServiceSecret, ApiScope) })
        {
            var r = await SendAsync(method, path, body, token);
            await AssertProblemAsync(r, HttpStatusCode.Unauthorized);
            Assert.StartsWith("Bearer", r.Headers.WwwAuthenticate.ToString());
        }

        // Authenticated but not allowed → 403: a user token for this issuer without idp.admin; idp.admin for a non-admin user.
        await AssertProblemAsync(await SendAsync(method, path, body, await UserTokenAsync(UserName, Password, "openid")), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await SendAsync(method, path, body, await UserTokenAsync(UserName, Password, "openid idp.admin")), HttpStatusCode.Forbidden);

        // An admin's token and an automation client's token are let through (the request itself then decides the status).
        foreach (var token in new[] { await UserTokenAsync(AdminUserName, AdminPassword, "openid idp.admin"), await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin") })
        {
            var r = await SendAsync(method, path, body, token);
            Assert.True(r.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden), $"{method} {path}: {(int)r.StatusCode}");
            Assert.True((int)r.StatusCode < 500, $"{method} {path}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        }
    }

    [Fact]
    public async Task ExpiredOrRevokedToken_401()
    {
        var token = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync("GET", "/admin/api/keys", null, token)).StatusCode);
        factory.Clock.Advance(TimeSpan.FromSeconds(3601));
        var r = await SendAsync("GET", "/admin/api/keys", null, token);
        await AssertProblemAsync(r, HttpStatusCode.Unauthorized);
        Assert.Contains("invalid_token", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task ClientCrudRoundTrip_TakesEffectAtOnce_AndIsAudited()
    {
        var admin = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        var created = await SendAsync("POST", "/admin/api/clients", """
            {"client_id":"api-made","display_name":"Made by API","confidential":true,"grant_types":["client_credentials"],"scopes":["api1"]}
            """, admin);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/admin/api/clients/api-made", created.Headers.Location!.OriginalString);
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        var secret = body.GetProperty("client_secret").GetString()!;
        Assert.Equal("confidential", body.GetProperty("client").GetProperty("type").GetString());

        // The new client gets a token at once; the secret is never shown again.
        Assert.False(string.IsNullOrEmpty(await ClientTokenAsync("api-made", secret, ApiScope)));
        var read = await Json.OkAsync(await SendAsync("GET", "/admin/api/clients/api-made", null, admin));
        Assert.DoesNotContain(secret, read.GetRawText());

        var updated = await Json.OkAsync(await SendAsync("PUT", "/admin/api/clients/api-made",
            """{"display_name":"Renamed","grant_types":["client_credentials"],"scopes":["api1"],"enabled":false}""", admin));
        Assert.Equal("Renamed", updated.Str("display_name"));
        await Json.ErrorAsync(await new OidcDriver(Http).TokenAsync(new() { ["grant_type"] = "client_credentials" }, "api-made", secret), HttpStatusCode.Unauthorized, "invalid_client");

        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync("DELETE", "/admin/api/clients/api-made", null, admin)).StatusCode);
        await AssertProblemAsync(await SendAsync("GET", "/admin/api/clients/api-made", null, admin), HttpStatusCode.NotFound);

        var audit = await Json.OkAsync(await SendAsync("GET", "/admin/api/audit?subject=api-made", null, admin));
        Assert.Equal(["client.deleted", "client.updated", "client.created"], audit.EnumerateArray().Select(e => e.Str("event")).ToArray());
        Assert.All(audit.EnumerateArray(), e => Assert.Equal(AdminClient, e.Str("actor_id")));
        Assert.DoesNotContain(secret, audit.GetRawText());
    }

    [Theory]
    [InlineData("""{"client_id":"bad1","grant_types":["implicit"],"redirect_uris":["https://a.example/cb"]}""", "implicit")]
    [InlineData("""{"client_id":"bad2","grant_types":["authorization_code"],"redirect_uris":["/relative/cb"]}""", "absolute")]
    [InlineData("""{"client_id":"bad3","grant_types":["authorization_code"],"redirect_uris":["javascript:alert(1)"]}""", "script")]
    [InlineData("""{"client_id":"web","grant_types":["authorization_code"],"redirect_uris":["https://a.example/cb"]}""", "already exists")]
    [InlineData("""{"client_id":"bad4","grant_types":["client_credentials"],"scopes":["no-such-scope"],"confidential":true}""", "unknown")]
    [InlineData("""not json""", "JSON")]
    public async Task BadClient_400ProblemDetails_NothingStored(string body, string mentioned)
    {
        var admin = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var before = await db.Set<OpenIddictEntityFrameworkCoreApplication>().CountAsync();

        var r = await SendAsync("POST", "/admin/api/clients", body, admin);
        await AssertProblemAsync(r, HttpStatusCode.BadRequest);
        Assert.Contains(mentioned, await r.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, await db.Set<OpenIddictEntityFrameworkCoreApplication>().CountAsync());
    }

    [Fact]
    public async Task ClientAccessTokenLifetime_AppliesToItsTokens_AndIsValidated()
    {
        var admin = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        await AssertProblemAsync(await SendAsync("POST", "/admin/api/clients",
            """{"client_id":"short-bad","confidential":true,"grant_types":["client_credentials"],"scopes":["api1"],"access_token_lifetime_seconds":5}""", admin), HttpStatusCode.BadRequest);
        var created = JsonDocument.Parse(await (await SendAsync("POST", "/admin/api/clients",
            """{"client_id":"short-lived","confidential":true,"grant_types":["client_credentials"],"scopes":["api1"],"access_token_lifetime_seconds":600}""", admin)).Content.ReadAsStringAsync()).RootElement;
        var token = await Json.OkAsync(await new OidcDriver(Http).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope },
            "short-lived", created.GetProperty("client_secret").GetString()!));
        Assert.Equal(600, token.GetProperty("expires_in").GetInt32());
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token.Str("access_token"));
        Assert.Equal(600, (jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
    }

    [Fact]
    public async Task ConfigurationClient_CannotBeChanged_409()
    {
        var admin = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        await AssertProblemAsync(await SendAsync("DELETE", "/admin/api/clients/web", null, admin), HttpStatusCode.Conflict);
        await AssertProblemAsync(await SendAsync("PUT", "/admin/api/clients/web", """{"grant_types":["authorization_code"],"redirect_uris":["https://x.example/cb"]}""", admin), HttpStatusCode.Conflict);
        await Json.OkAsync(await SendAsync("GET", "/admin/api/clients/web", null, admin));
    }

    [Fact]
    public async Task UserLifecycle_ThroughTheApi()
    {
        var admin = await UserTokenAsync(AdminUserName, AdminPassword, "openid idp.admin");
        var created = await SendAsync("POST", "/admin/api/users", """{"user_name":"api-user","email":"api-user@example.test","password":"api-user-password-1","roles":["support"]}""", admin);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var weak = await SendAsync("POST", "/admin/api/users", """{"user_name":"weak-user","password":"short"}""", admin);
        await AssertProblemAsync(weak, HttpStatusCode.BadRequest);

        Assert.True((await Json.OkAsync(await SendAsync("POST", "/admin/api/users/api-user/lock", null, admin))).GetProperty("locked_out").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await new OidcDriver(factory.CreateBrowser()).SubmitLoginAsync("api-user", "api-user-password-1")).StatusCode);
        Assert.False((await Json.OkAsync(await SendAsync("POST", "/admin/api/users/api-user/unlock", null, admin))).GetProperty("locked_out").GetBoolean());
        await Json.OkAsync(await SendAsync("POST", "/admin/api/users/api-user/password", """{"password":"api-user-password-2"}""", admin));
        Assert.Equal(HttpStatusCode.Redirect, (await new OidcDriver(factory.CreateBrowser()).SubmitLoginAsync("api-user", "api-user-password-2")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync("DELETE", "/admin/api/users/api-user", null, admin)).StatusCode);
        await AssertProblemAsync(await SendAsync("GET", "/admin/api/users/api-user", null, admin), HttpStatusCode.NotFound);
    }

    private async Task<string> UserIdAsync(string name) => await new AccountDriver(factory).WithUserAsync(name, (_, u) => Task.FromResult(u.Id));

    [Fact]
    public async Task LastAdmin_AndSelf_CannotBeLockedDemotedOrDeleted_409()
    {
        var rootId = await UserIdAsync(AdminUserName);
        var root = await UserTokenAsync(AdminUserName, AdminPassword, "openid idp.admin");
        await AssertProblemAsync(await SendAsync("POST", $"/admin/api/users/{rootId}/lock", null, root), HttpStatusCode.Conflict);
        await AssertProblemAsync(await SendAsync("PUT", $"/admin/api/users/{rootId}/roles", """{"roles":["support"]}""", root), HttpStatusCode.Conflict);
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        var lastAdmin = await SendAsync("DELETE", $"/admin/api/users/{rootId}", null, bot);
        await AssertProblemAsync(lastAdmin, HttpStatusCode.Conflict);
        Assert.Contains("last active admin", await lastAdmin.Content.ReadAsStringAsync());
        Assert.Contains("admin", (await Json.OkAsync(await SendAsync("GET", $"/admin/api/users/{rootId}", null, bot))).GetProperty("roles").EnumerateArray().Select(r => r.GetString()));
    }

    [Fact]
    public async Task UsersAreFoundByIdBeforeName()
    {
        var aliceId = await UserIdAsync(UserName);
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        Assert.Equal(HttpStatusCode.Created, (await SendAsync("POST", "/admin/api/users", $$"""{"user_name":"{{aliceId}}","password":"impostor-password-1"}""", bot)).StatusCode);
        Assert.Equal(UserName, (await Json.OkAsync(await SendAsync("GET", $"/admin/api/users/{aliceId}", null, bot))).Str("user_name"));
    }

    [Fact]
    public async Task ClientLosingIdpAdmin_OrDeleted_LosesTheApi_AndRefreshDropsTheScope()
    {
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        var created = JsonDocument.Parse(await (await SendAsync("POST", "/admin/api/clients", """
            {"client_id":"ops-ui","confidential":true,"grant_types":["authorization_code","refresh_token","client_credentials"],
             "redirect_uris":["https://app.example/callback"],"scopes":["openid","offline_access","idp.admin"]}
            """, bot)).Content.ReadAsStringAsync()).RootElement;
        var secret = created.GetProperty("client_secret").GetString()!;

        // An admin signs in through that client and gets a refresh token with idp.admin.
        var d = new OidcDriver(factory.CreateBrowser());
        await d.SubmitLoginAsync(AdminUserName, AdminPassword);
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, "ops-ui", WebRedirect, "openid offline_access idp.admin"));
        var tokens = await Json.OkAsync(await d.RedeemCodeAsync(code, verifier, "ops-ui", secret));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync("GET", "/admin/api/keys", null, tokens.Str("access_token"))).StatusCode);

        // idp.admin is taken from the client: its tokens stop working, and refreshing no longer brings the scope back.
        await Json.OkAsync(await SendAsync("PUT", "/admin/api/clients/ops-ui", """
            {"grant_types":["authorization_code","refresh_token","client_credentials"],"redirect_uris":["https://app.example/callback"],"scopes":["openid","offline_access"]}
            """, bot));
        await AssertProblemAsync(await SendAsync("GET", "/admin/api/keys", null, tokens.Str("access_token")), HttpStatusCode.Forbidden);
        var refreshed = await Json.OkAsync(await d.RefreshAsync(tokens.Str("refresh_token"), "ops-ui", secret));
        Assert.Equal("openid offline_access", refreshed.Str("scope"));

        // A client-credentials token of a client that is then deleted is no longer a valid token at all: 401 (issue 11).
        await Json.OkAsync(await SendAsync("PUT", "/admin/api/clients/ops-ui", """{"grant_types":["client_credentials"],"scopes":["idp.admin"]}""", bot));
        var own = await ClientTokenAsync("ops-ui", secret, "idp.admin");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync("GET", "/admin/api/keys", null, own)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await SendAsync("DELETE", "/admin/api/clients/ops-ui", null, bot)).StatusCode);
        await AssertProblemAsync(await SendAsync("GET", "/admin/api/keys", null, own), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ClientCredentialsWithoutScope_DoesNotIncludeIdpAdmin()
    {
        // The automation client has only idp.admin: asked for nothing by name, it gets nothing.
        await Json.ErrorAsync(await new OidcDriver(Http).TokenAsync(new() { ["grant_type"] = "client_credentials" }, AdminClient, AdminSecret), HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Theory]
    [InlineData("POST", "/admin/api/clients", """{"client_id":"nulls","grant_types":null,"redirect_uris":null,"scopes":[null]}""")]
    [InlineData("POST", "/admin/api/clients/admin-automation/secrets", """{"overlap_days":99999999}""")]
    [InlineData("GET", "/admin/api/audit?from=garbage", null)]
    [InlineData("GET", "/admin/api/audit?limit=99999999999", null)]
    [InlineData("PUT", "/admin/api/users/alice/roles", """{"roles":"admin"}""")]
    public async Task MalformedInput_400Problem_Never500(string method, string path, string? body)
    {
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        var r = await SendAsync(method, path, body, bot);
        Assert.True(r.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.Conflict, $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task WrongContentType_ProblemDocument()
    {
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");
        var request = new HttpRequestMessage(HttpMethod.Post, "/admin/api/clients") { Content = new StringContent("client_id=x", System.Text.Encoding.UTF8, "application/x-www-form-urlencoded") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bot);
        var r = await Http.SendAsync(request);
        Assert.True((int)r.StatusCode is 400 or 415, ((int)r.StatusCode).ToString());
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ResetTwoFactor_AndRemovePasskeys_ForALockedOutPerson()
    {
        var a = new AccountDriver(factory);
        var bot = await ClientTokenAsync(AdminClient, AdminSecret, "idp.admin");

        // A user who lost their authenticator app: after the reset the password alone signs in.
        var totpUser = await a.CreateUserAsync("lost-phone");
        await a.EnableTotpAsync(await a.PasswordStepAsync(totpUser, expectSecondStep: false));
        await a.PasswordStepAsync(totpUser, expectSecondStep: true);
        var reset = await Json.OkAsync(await SendAsync("POST", $"/admin/api/users/{totpUser}/two-factor/reset", null, bot));
        Assert.False(reset.GetProperty("two_factor_enabled").GetBoolean());
        await a.PasswordStepAsync(totpUser, expectSecondStep: false);

        // A user whose device was stolen: the passkey no longer signs in.
        var passkeyUser = await a.CreateUserAsync("stolen-key");
        var authenticator = new SoftwareAuthenticator("localhost");
        var browser = new CookieJarBrowser(factory);
        await browser.PasswordSignInAsync(passkeyUser, AccountDriver.Password);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.AddPasskeyAsync(authenticator, "k")).StatusCode);
        Assert.Equal(1, (await Json.OkAsync(await SendAsync("GET", $"/admin/api/users/{passkeyUser}", null, bot))).GetProperty("passkeys").GetInt32());

        Assert.Equal(0, (await Json.OkAsync(await SendAsync("DELETE", $"/admin/api/users/{passkeyUser}/passkeys", null, bot))).GetProperty("passkeys").GetInt32());
        var r = await new CookieJarBrowser(factory).PasskeySignInAsync(authenticator);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode); // the login page again, with the error
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheRoutes()
    {
        var doc = await Json.OkAsync(await Http.GetAsync("/admin/api/openapi/v1.json"));
        var paths = doc.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        Assert.Contains("/admin/api/clients", paths);
        Assert.Contains("/admin/api/clients/{clientId}/secrets", paths);
        Assert.Contains("/admin/api/users/{user}/lock", paths);
        Assert.Contains("/admin/api/audit", paths);
        Assert.DoesNotContain(paths, p => p.StartsWith("/connect", StringComparison.Ordinal));
        Assert.Equal("bearer", doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer").Str("scheme"));
        Assert.Contains(doc.GetProperty("security").EnumerateArray(), r => r.TryGetProperty("bearer", out _));
    }
}
