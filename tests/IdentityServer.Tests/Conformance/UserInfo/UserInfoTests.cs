using System.Net;
using IdentityServer.Tests.Infrastructure;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.UserInfo;

/// <summary>OpenID Connect Core §5.3–5.4, RFC 6750 §3: userinfo.</summary>
public sealed class UserInfoTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task ValidToken_ReturnsClaimsByScope()
    {
        var tokens = await _d.SignInAndGetTokensAsync();
        var json = await Json.OkAsync(await _d.UserInfoAsync(tokens.Str("access_token")));
        Assert.Equal(UserName, json.Str("preferred_username"));
        Assert.Equal(UserEmail, json.Str("email"));
        Assert.True(json.GetProperty("email_verified").GetBoolean());
        Assert.False(string.IsNullOrEmpty(json.Str("sub")));
    }

    [Fact]
    public async Task ProfileScopeOnly_NoEmailClaims()
    {
        var tokens = await _d.SignInAndGetTokensAsync("openid profile");
        var json = await Json.OkAsync(await _d.UserInfoAsync(tokens.Str("access_token")));
        Assert.False(json.TryGetProperty("email", out _));
        Assert.Equal(UserName, json.Str("preferred_username"));
    }

    [Fact]
    public async Task PostWithBearerHeader_Works()
    {
        var tokens = await _d.SignInAndGetTokensAsync("openid");
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/userinfo");
        request.Headers.Authorization = new("Bearer", tokens.Str("access_token"));
        Assert.False(string.IsNullOrEmpty((await Json.OkAsync(await _d.Http.SendAsync(request))).Str("sub")));
    }

    [Fact]
    public async Task NoToken_401InvalidToken()
    {
        var r = await _d.UserInfoAsync(null);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var challenge = r.Headers.WwwAuthenticate.ToString();
        Assert.StartsWith("Bearer", challenge);
        Assert.Contains("error=\"invalid_token\"", challenge);
    }

    [Fact]
    public async Task TokenInHeaderAndBody_400InvalidRequest()
    {
        // RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token in each request."
        var token = (await _d.SignInAndGetTokensAsync("openid")).Str("access_token");
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/userinfo")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["access_token"] = token }),
        };
        request.Headers.Authorization = new("Bearer", token);
        var r = await _d.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("error=\"invalid_request\"", r.Headers.WwwAuthenticate.ToString());
        // Either place alone works.
        await Json.OkAsync(await _d.Http.PostAsync("/connect/userinfo", new FormUrlEncodedContent(new Dictionary<string, string> { ["access_token"] = token })));
    }

    [Fact]
    public async Task TokenInTheQueryString_IsNotRead_401()
    {
        // RFC 6750 §2.3: URI query tokens end up in logs and Referer headers; this server does not take them.
        var tokens = await _d.SignInAndGetTokensAsync("openid");
        var r = await _d.Http.GetAsync("/connect/userinfo?access_token=" + Uri.EscapeDataString(tokens.Str("access_token")));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.StartsWith("Bearer", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task BasicSchemeInsteadOfBearer_401InvalidToken()
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
        request.Headers.Authorization = new("Basic", "dXNlcjpwYXNz");
        var r = await _d.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Contains("error=\"invalid_token\"", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task PostWithRepeatedHostileFormKey_400InvalidRequest_HeaderStaysClean()
    {
        var body = "a%0D%0AX-Injected%3A%201=1&a%0D%0AX-Injected%3A%201=2";
        var r = await _d.Http.PostAsync("/connect/userinfo", new StringContent(body, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var challenge = r.Headers.WwwAuthenticate.ToString();
        Assert.Contains("error=\"invalid_request\"", challenge);
        Assert.DoesNotContain("\r", challenge);
        Assert.DoesNotContain("\n", challenge);
        Assert.False(r.Headers.Contains("X-Injected"));
    }

    [Fact]
    public async Task ExpiredToken_401InvalidToken()
    {
        var tokens = await _d.SignInAndGetTokensAsync("openid");
        factory.Clock.Advance(TimeSpan.FromSeconds(3601));
        var r = await _d.UserInfoAsync(tokens.Str("access_token"));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Contains("error=\"invalid_token\"", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task IdTokenInsteadOfAccessToken_401InvalidToken()
    {
        var tokens = await _d.SignInAndGetTokensAsync("openid");
        var r = await _d.UserInfoAsync(tokens.Str("id_token"));
        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Contains("error=\"invalid_token\"", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task TamperedToken_401InvalidToken()
    {
        var tokens = await _d.SignInAndGetTokensAsync("openid");
        var parts = tokens.Str("access_token").Split('.');
        var forged = parts[0] + "." + parts[1] + "." + new string('A', parts[2].Length);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(forged)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync("not-a-jwt")).StatusCode);
    }

    [Fact]
    public async Task ClientCredentialsToken_401InvalidToken()
    {
        var r = await _d.TokenAsync(new() { ["grant_type"] = "client_credentials" }, ServiceClient, ServiceSecret);
        var token = (await Json.OkAsync(r)).Str("access_token");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(token)).StatusCode);
    }
}
