using System.Net;
using System.Text.Json;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Lifecycle;

/// <summary>RFC 7662 introspection and RFC 7009 revocation.</summary>
public sealed class IntrospectionRevocationTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    /// <summary>Introspects as <paramref name="clientId"/>; by default the client the test's user tokens are issued to.</summary>
    private Task<HttpResponseMessage> IntrospectAsync(string token, string clientId = IdentityServerFactory.WebClient, string? secret = WebSecret, string? hint = null)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (hint is not null) form["token_type_hint"] = hint;
        return Post("/connect/introspect", form, clientId, secret);
    }

    private Task<HttpResponseMessage> RevokeAsync(string token, string clientId = IdentityServerFactory.WebClient, string? secret = WebSecret, string? hint = null)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (hint is not null) form["token_type_hint"] = hint;
        return Post("/connect/revocation", form, clientId, secret);
    }

    private Task<HttpResponseMessage> Post(string path, Dictionary<string, string> form, string clientId, string? secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (secret is not null)
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        else form["client_id"] = clientId;
        request.Content = new FormUrlEncodedContent(form);
        return _d.Http.SendAsync(request);
    }

    private static async Task AssertInactiveAsync(HttpResponseMessage r)
    {
        var json = await Json.OkAsync(r);
        Assert.False(json.GetProperty("active").GetBoolean());
        Assert.Single(json.EnumerateObject());
    }

    [Fact]
    public async Task Introspect_ActiveUserAccessToken_AllMembers()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        var r = await IntrospectAsync(tokens.Str("access_token"));
        Assert.Contains("no-store", r.Headers.CacheControl!.ToString());
        var json = await Json.OkAsync(r);
        Assert.True(json.GetProperty("active").GetBoolean());
        Assert.Equal("Bearer", json.Str("token_type"));
        Assert.Equal("openid profile email offline_access api1", json.Str("scope"));
        Assert.Equal(IdentityServerFactory.WebClient, json.Str("client_id"));
        Assert.Equal(Issuer, json.Str("iss"));
        Assert.False(string.IsNullOrEmpty(json.Str("sub")));
        Assert.Equal(new[] { Issuer, ApiAudience }.Order(), json.GetProperty("aud").EnumerateArray().Select(a => a.GetString()!).Order());
        Assert.Equal(3600, json.GetProperty("exp").GetInt64() - json.GetProperty("iat").GetInt64());
    }

    [Fact]
    public async Task Introspect_RefreshToken_OnlyForItsOwnClient_HintNotTrusted()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        var mine = await Json.OkAsync(await IntrospectAsync(tokens.Str("refresh_token"), IdentityServerFactory.WebClient, WebSecret, hint: "access_token"));
        Assert.True(mine.GetProperty("active").GetBoolean());
        Assert.Equal("refresh_token", mine.Str("token_type"));
        Assert.Equal(IdentityServerFactory.WebClient, mine.Str("client_id"));
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("refresh_token"), OtherClient, OtherSecret));
        // An access token introspected with the refresh hint is still found.
        Assert.True((await Json.OkAsync(await IntrospectAsync(tokens.Str("access_token"), hint: "refresh_token"))).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Introspect_ByAClientTheTokenIsNeitherIssuedToNorMeantFor_OnlyActiveFalse()
    {
        // RFC 7662 §4: the answer tells who the user is and what the token may do; only the token's client and its audiences may know.
        var tokens = await _d.SignInAndGetTokensAsync();
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("access_token"), ServiceClient, ServiceSecret));
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("refresh_token"), ServiceClient, ServiceSecret));
        Assert.True((await Json.OkAsync(await IntrospectAsync(tokens.Str("access_token")))).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task IdTokenOrCode_IntrospectedOrRevoked_AnsweredAsInactive()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("id_token")));
        var revoked = await RevokeAsync(tokens.Str("id_token"));
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.Equal("", await revoked.Content.ReadAsStringAsync());
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        await AssertInactiveAsync(await IntrospectAsync(code));
        // The code was neither consumed nor revoked by being shown around.
        await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier));
    }

    [Theory]
    [InlineData("unknown-token")]
    [InlineData("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    public async Task Introspect_UnknownOrForeign_OnlyActiveFalse(string token) => await AssertInactiveAsync(await IntrospectAsync(token));

    [Fact]
    public async Task Introspect_ExpiredAccessToken_Inactive()
    {
        var token = (await Json.OkAsync(await _d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, ServiceClient, ServiceSecret))).Str("access_token");
        Assert.True((await Json.OkAsync(await IntrospectAsync(token, ServiceClient, ServiceSecret))).GetProperty("active").GetBoolean());
        factory.Clock.Advance(TimeSpan.FromSeconds(3601));
        await AssertInactiveAsync(await IntrospectAsync(token, ServiceClient, ServiceSecret));
    }

    [Fact]
    public async Task Introspect_NeedsAConfidentialClient()
    {
        var token = (await _d.SignInAndGetTokensAsync()).Str("access_token");
        var none = await _d.Http.PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }));
        await Json.ErrorAsync(none, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.NotEmpty(none.Headers.WwwAuthenticate);
        await Json.ErrorAsync(await IntrospectAsync(token, PublicClient, null), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.ErrorAsync(await IntrospectAsync(token, ServiceClient, "wrong-secret-0123456789-0123456789-0123456789"), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.ErrorAsync(await Post("/connect/introspect", new(), ServiceClient, ServiceSecret), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Revoke_RefreshToken_RevokesTheWholeFamily_EverywhereInactive()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        var rotated = await Json.OkAsync(await _d.RefreshAsync(tokens.Str("refresh_token")));
        var r = await RevokeAsync(rotated.Str("refresh_token"), hint: "access_token"); // wrong hint: still found
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("", await r.Content.ReadAsStringAsync());

        await Json.ErrorAsync(await _d.RefreshAsync(rotated.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("access_token")));
        await AssertInactiveAsync(await IntrospectAsync(rotated.Str("access_token")));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(rotated.Str("access_token"))).StatusCode);
    }

    [Fact]
    public async Task Revoke_AccessToken_OnlyThatToken()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(tokens.Str("access_token"))).StatusCode);
        await AssertInactiveAsync(await IntrospectAsync(tokens.Str("access_token")));
        var refreshed = await Json.OkAsync(await _d.RefreshAsync(tokens.Str("refresh_token")));
        Assert.True((await Json.OkAsync(await IntrospectAsync(refreshed.Str("access_token")))).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task Revoke_AnotherClientsToken_Refused_NothingRevoked()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        await Json.ErrorAsync(await RevokeAsync(tokens.Str("refresh_token"), OtherClient, OtherSecret), HttpStatusCode.BadRequest, "unauthorized_client");
        await Json.ErrorAsync(await RevokeAsync(tokens.Str("access_token"), OtherClient, OtherSecret), HttpStatusCode.BadRequest, "unauthorized_client");
        Assert.True((await Json.OkAsync(await IntrospectAsync(tokens.Str("access_token")))).GetProperty("active").GetBoolean());
        await Json.OkAsync(await _d.RefreshAsync(tokens.Str("refresh_token")));
    }

    [Fact]
    public async Task Revoke_UnknownToken_200_ButClientMustAuthenticate()
    {
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync("no-such-token")).StatusCode);
        await Json.ErrorAsync(await _d.Http.PostAsync("/connect/revocation", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "x" })),
            HttpStatusCode.Unauthorized, "invalid_client");
        await Json.ErrorAsync(await Post("/connect/revocation", new(), IdentityServerFactory.WebClient, WebSecret), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Revoke_PublicClient_WithClientIdOnly()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, PublicClient, PublicRedirect, "openid offline_access"));
        var tokens = await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier, PublicClient, null, PublicRedirect));
        Assert.Equal(HttpStatusCode.OK, (await RevokeAsync(tokens.Str("refresh_token"), PublicClient, null)).StatusCode);
        await Json.ErrorAsync(await _d.RefreshAsync(tokens.Str("refresh_token"), PublicClient, null), HttpStatusCode.BadRequest, "invalid_grant");
    }
}

/// <summary>The test server, plus a resource server registered as a client whose client_id is the API's audience.</summary>
public sealed class ResourceServerFactory : IdentityServerFactory
{
    public const string ResourceServer = ApiAudience; // OpenIddict lets a client introspect tokens that name it as audience
    public const string ResourceServerSecret = "resource-server-secret-0123456789-0123456789";

    public ResourceServerFactory()
    {
        Settings["IdentityServer:Clients:10:ClientId"] = ResourceServer;
        Settings["IdentityServer:Clients:10:ClientSecret"] = ResourceServerSecret;
        Settings["IdentityServer:Clients:10:GrantTypes:0"] = "client_credentials";
        Settings["IdentityServer:Clients:10:Scopes:0"] = ApiScope;
    }
}

/// <summary>
/// RFC 7662 §4 and the admin's off switch: a token is described to its own client and to its audiences only, and once its client is
/// disabled (or deleted) the token is inactive everywhere: introspection, userinfo, the admin API.
/// </summary>
public sealed class IntrospectionAudienceTests(ResourceServerFactory factory) : IClassFixture<ResourceServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    private async Task<JsonElement> IntrospectAsync(string token, string clientId, string secret) =>
        await Json.OkAsync(await _d.Http.PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = token, ["client_id"] = clientId, ["client_secret"] = secret,
        })));

    private async Task SetEnabledAsync(string clientId, bool enabled)
    {
        using var scope = factory.Services.CreateScope();
        var clients = scope.ServiceProvider.GetRequiredService<IdentityServer.Protocol.Clients.ClientApplicationManager>();
        var application = await clients.FindAnyByClientIdAsync(clientId);
        Assert.NotNull(application);
        await clients.UpdateAsync(application, await clients.GetProfileAsync(application) with { Enabled = enabled });
    }

    [Fact]
    public async Task TheTokensAudience_GetsActiveTrue_AnotherClient_ActiveFalse()
    {
        var token = (await _d.SignInAndGetTokensAsync()).Str("access_token");
        var described = await IntrospectAsync(token, ResourceServerFactory.ResourceServer, ResourceServerFactory.ResourceServerSecret);
        Assert.True(described.GetProperty("active").GetBoolean());
        Assert.False(string.IsNullOrEmpty(described.Str("sub")));
        var other = await IntrospectAsync(token, ServiceClient, ServiceSecret);
        Assert.False(other.GetProperty("active").GetBoolean());
        Assert.Single(other.EnumerateObject());
    }

    [Fact]
    public async Task ClientDisabled_ItsTokensInactiveEverywhere_AndActiveAgainWhenEnabled()
    {
        var user = await _d.SignInAndGetTokensAsync(); // issued to web
        var admin = (await Json.OkAsync(await _d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "idp.admin" }, AdminClient, AdminSecret))).Str("access_token");
        async Task<HttpStatusCode> AdminApiAsync()
        {
            var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/clients");
            request.Headers.Authorization = new("Bearer", admin);
            return (await _d.Http.SendAsync(request)).StatusCode;
        }
        Assert.Equal(HttpStatusCode.OK, await AdminApiAsync());

        await SetEnabledAsync(IdentityServerFactory.WebClient, false);
        await SetEnabledAsync(AdminClient, false);
        try
        {
            Assert.False((await IntrospectAsync(user.Str("access_token"), ResourceServerFactory.ResourceServer, ResourceServerFactory.ResourceServerSecret)).GetProperty("active").GetBoolean());
            Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(user.Str("access_token"))).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, await AdminApiAsync());
        }
        finally
        {
            await SetEnabledAsync(IdentityServerFactory.WebClient, true);
            await SetEnabledAsync(AdminClient, true);
        }
        // Disabling is not revoking: enabled again, the client's tokens work again.
        await Json.OkAsync(await _d.UserInfoAsync(user.Str("access_token")));
        Assert.Equal(HttpStatusCode.OK, await AdminApiAsync());
    }
}
