using System.Net;
using IdentityServer.Tests.Infrastructure;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Authorize;

/// <summary>RFC 6749 §4.1.1–4.1.2.1, RFC 9700 §4.1.3, RFC 7636, RFC 9207: the authorization endpoint's checks.</summary>
public sealed class AuthorizeRequestTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    private async Task<HttpResponseMessage> SignedInAuthorize(Action<Dictionary<string, string?>> change)
    {
        await _d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        change(p);
        return await _d.AuthorizeAsync(p);
    }

    private static async Task AssertErrorPage(HttpResponseMessage r, string expectedText)
    {
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Null(r.Headers.Location);
        Assert.StartsWith("text/html", r.Content.Headers.ContentType!.ToString());
        var html = await r.Content.ReadAsStringAsync();
        Assert.Contains("invalid_request", html);
        Assert.Contains(expectedText, html);
    }

    private static void AssertRedirectError(HttpResponseMessage r, string error, string? state)
    {
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.StartsWith(WebRedirect + "?", r.Headers.Location!.OriginalString);
        var q = OidcDriver.RedirectQuery(r);
        Assert.Equal(error, q["error"]);
        Assert.Equal(Issuer, q["iss"]);
        Assert.Equal(state, q.GetValueOrDefault("state"));
        Assert.False(q.ContainsKey("code"));
    }

    [Fact]
    public async Task UnknownClient_ShowsErrorPage_NoRedirect() =>
        await AssertErrorPage(await SignedInAuthorize(p => p["client_id"] = "nobody"), "unknown");

    [Fact]
    public async Task MissingClientId_ShowsErrorPage() =>
        await AssertErrorPage(await SignedInAuthorize(p => p.Remove("client_id")), "client_id");

    [Theory]
    [InlineData("https://evil.example/callback")]
    [InlineData("https://app.example/callback/")]
    [InlineData("https://app.example/callback?x=1")]
    [InlineData("https://app.example:8443/callback")]
    [InlineData("https://APP.example/callback")]
    [InlineData("http://app.example/callback")]
    public async Task UnregisteredOrModifiedRedirectUri_ShowsErrorPage_NoRedirect(string redirectUri) =>
        await AssertErrorPage(await SignedInAuthorize(p => p["redirect_uri"] = redirectUri), "not registered");

    [Fact]
    public async Task MissingRedirectUri_ShowsErrorPage_NoRedirect() =>
        await AssertErrorPage(await SignedInAuthorize(p => p.Remove("redirect_uri")), "redirect_uri");

    [Fact]
    public async Task RepeatedParameter_ShowsErrorPage_NoRedirect()
    {
        await _d.LoginAsync();
        var verifier = OidcDriver.NewVerifier();
        var p = OidcDriver.AuthorizeParameters(verifier);
        var url = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString("/connect/authorize", p!) + "&scope=openid";
        await AssertErrorPage(await _d.Http.GetAsync(url), "more than once");
    }

    [Fact]
    public async Task LoopbackRedirectUri_AnyPort_GetsCode()
    {
        var r = await SignedInAuthorize(p => p["redirect_uri"] = "http://127.0.0.1:51234/cb");
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.StartsWith("http://127.0.0.1:51234/cb?", r.Headers.Location!.OriginalString);
        Assert.True(OidcDriver.RedirectQuery(r).ContainsKey("code"));
    }

    [Theory]
    [InlineData("HTTP://127.0.0.1:51234/cb")] // registered as http://127.0.0.1/cb: only the port of a loopback IP may differ
    [InlineData("http://127.0.0.1:51234/CB")]
    public async Task LoopbackRedirectUri_OtherCase_ShowsErrorPage(string redirectUri) =>
        await AssertErrorPage(await SignedInAuthorize(p => p["redirect_uri"] = redirectUri), "not registered");

    [Fact]
    public async Task LoopbackRedirectUri_OtherPath_ShowsErrorPage() =>
        await AssertErrorPage(await SignedInAuthorize(p => p["redirect_uri"] = "http://127.0.0.1:51234/other"), "not registered");

    /// <summary>After the redirect URI is verified, each bad parameter is sent back to the client with state and iss, and no code.</summary>
    [Theory]
    [InlineData("code_challenge", null, "invalid_request")]                      // PKCE required (RFC 9700 §2.1.1)
    [InlineData("code_challenge_method", null, "invalid_request")]               // absent means plain (RFC 7636 §4.3)
    [InlineData("code_challenge_method", "plain", "invalid_request")]            // S256 only
    [InlineData("code_challenge", "too-short-for-a-challenge", "invalid_request")] // 43..128 characters (RFC 7636 §4.2)
    [InlineData("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", "invalid_request")] // '+' is not unreserved
    [InlineData("response_type", "token", "unsupported_response_type")]          // no implicit grant
    [InlineData("scope", "openid admin.everything", "invalid_scope")]            // unknown scope
    [InlineData("scope", "offline_access api1", "invalid_scope")]                // identity scope without openid
    [InlineData("request", "eyJhbGciOiJub25lIn0.e30.", "request_not_supported")] // OIDC Core §6
    [InlineData("request_uri", "https://app.example/request.jwt", "request_uri_not_supported")] // OIDC Core §6
    [InlineData("request_uri", "urn:ietf:params:oauth:request_uri:6esc_11ACC5bwc014ltc14eY22c", "request_uri_not_supported")] // no PAR
    [InlineData("prompt", "none login", "invalid_request")]                      // none must stand alone
    [InlineData("max_age", "-1", "invalid_request")]                             // non-negative integer
    public async Task BadParameter_RedirectsErrorWithStateAndIss(string name, string? value, string error)
    {
        string? state = null;
        var r = await SignedInAuthorize(p =>
        {
            if (value is null) p.Remove(name); else p[name] = value;
            state = p["state"];
        });
        AssertRedirectError(r, error, state);
    }

    [Fact]
    public async Task ScopeNotAllowedForClient_RedirectsInvalidScope()
    {
        var r = await SignedInAuthorize(p => { p["client_id"] = OtherClient; p["scope"] = "openid api1"; });
        Assert.Equal("invalid_scope", OidcDriver.RedirectQuery(r)["error"]);
    }

    [Fact]
    public async Task UnknownResponseMode_ShowsErrorPage() =>
        await AssertErrorPage(await SignedInAuthorize(p => p["response_mode"] = "fragment"), "response_mode");

    [Fact]
    public async Task ValidRequest_RedirectsWithCodeStateAndIss()
    {
        string? state = null;
        var r = await SignedInAuthorize(p => state = p["state"]);
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        var q = OidcDriver.RedirectQuery(r);
        Assert.Equal(state, q["state"]);
        Assert.Equal(Issuer, q["iss"]);
        Assert.Equal(43, q["code"].Length); // 256 bits, base64url
        Assert.Contains("no-store", r.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task PostRequest_SeeOtherToTheSameRequestAsGet_ThenCode()
    {
        await _d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        var r = await _d.Http.PostAsync("/connect/authorize", new FormUrlEncodedContent(p!));
        Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        var location = r.Headers.Location!.OriginalString;
        Assert.StartsWith("/connect/authorize?", location);
        var q = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(location[location.IndexOf('?')..]);
        Assert.Equal(p["code_challenge"], q["code_challenge"].ToString());
        Assert.Equal(p["state"], q["state"].ToString());
        Assert.True(OidcDriver.RedirectQuery(await _d.Http.GetAsync(location)).ContainsKey("code"));
    }

    [Fact]
    public async Task PostRequest_RepeatedParameter_ShowsErrorPage()
    {
        var body = "client_id=web&client_id=other&response_type=code";
        var r = await _d.Http.PostAsync("/connect/authorize", new StringContent(body, System.Text.Encoding.ASCII, "application/x-www-form-urlencoded"));
        await AssertErrorPage(r, "more than once");
    }

    [Fact]
    public async Task ErrorDescription_EchoingInput_IsLimitedToSafeCharacters()
    {
        var r = await SignedInAuthorize(p => p["scope"] = "openid caf\u00e9\"x");
        var q = OidcDriver.RedirectQuery(r);
        Assert.Equal("invalid_scope", q["error"]);
        Assert.All(q["error_description"], c => Assert.True(c is ' ' or '!' or (>= '#' and <= '[') or (>= ']' and <= '~'), $"char {(int)c}"));
    }

    [Fact]
    public async Task FormPostResponseMode_RendersAutoSubmitForm()
    {
        string? state = null;
        var r = await SignedInAuthorize(p => { p["response_mode"] = "form_post"; state = p["state"]; });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var doc = new AngleSharp.Html.Parser.HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync());
        var form = doc.QuerySelector("form")!;
        Assert.Equal(WebRedirect, form.GetAttribute("action"));
        Assert.Equal("post", form.GetAttribute("method"));
        string Field(string n) => doc.QuerySelector($"input[name={n}]")!.GetAttribute("value")!;
        Assert.Equal(43, Field("code").Length);
        Assert.Equal(state, Field("state"));
        Assert.Equal(Issuer, Field("iss"));
        var csp = r.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("form-action https://app.example", csp);
    }
}
