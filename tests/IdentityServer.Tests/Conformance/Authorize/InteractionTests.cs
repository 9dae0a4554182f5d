using System.Net;
using IdentityServer.Tests.Infrastructure;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Authorize;

/// <summary>OpenID Connect Core §3.1.2.3–3.1.2.4: login, prompt, max_age, consent.</summary>
public sealed class InteractionTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task NoSession_RedirectsToLoginWithReturnUrl_ThenCompletes()
    {
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["login_hint"] = "alice";
        var r = await _d.AuthorizeAsync(p);
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        var location = r.Headers.Location!.OriginalString;
        Assert.StartsWith("/account/login?ReturnUrl=", location);
        var returnUrl = Uri.UnescapeDataString(location["/account/login?ReturnUrl=".Length..]);
        Assert.StartsWith("/connect/authorize?", returnUrl);

        var page = await (await _d.Http.GetAsync(location)).Content.ReadAsStringAsync();
        var doc = new AngleSharp.Html.Parser.HtmlParser().ParseDocument(page);
        Assert.Equal("alice", doc.QuerySelector("input[autocomplete=username]")!.GetAttribute("value"));
        Assert.NotNull(doc.QuerySelector("input[type=password][autocomplete=current-password]"));
        Assert.Contains("Test web", page);

        var login = await _d.SubmitLoginAsync(UserName, Password, returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal(returnUrl, login.Headers.Location!.OriginalString);
        var final = await _d.Http.GetAsync(returnUrl);
        Assert.True(OidcDriver.RedirectQuery(final).ContainsKey("code"));
    }

    [Fact]
    public async Task PromptNone_NoSession_RedirectsLoginRequired()
    {
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "none";
        var q = OidcDriver.RedirectQuery(await _d.AuthorizeAsync(p));
        Assert.Equal("login_required", q["error"]);
        Assert.Equal(p["state"], q["state"]);
    }

    [Fact]
    public async Task PromptLogin_WithSession_AsksForLoginAndDropsPromptFromReturnUrl()
    {
        await _d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "login";
        var r = await _d.AuthorizeAsync(p);
        var location = Uri.UnescapeDataString(r.Headers.Location!.OriginalString);
        Assert.StartsWith("/account/login", location);
        Assert.DoesNotContain("prompt=", location);
    }

    [Fact]
    public async Task MaxAgeExceeded_AsksForLogin()
    {
        await _d.LoginAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(120));
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["max_age"] = "60";
        var r = await _d.AuthorizeAsync(p);
        Assert.StartsWith("/account/login", r.Headers.Location!.OriginalString);
        p["max_age"] = "3600";
        Assert.True(OidcDriver.RedirectQuery(await _d.AuthorizeAsync(p)).ContainsKey("code"));
    }

    [Fact]
    public async Task Consent_PromptNone_RedirectsConsentRequired()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile");
        p["prompt"] = "none";
        Assert.Equal("consent_required", OidcDriver.RedirectQuery(await d.AuthorizeAsync(p))["error"]);
    }

    [Fact]
    public async Task Consent_Deny_RedirectsAccessDenied()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid email");
        var r = await d.AuthorizeAsync(p);
        Assert.StartsWith("/consent?ReturnUrl=", r.Headers.Location!.OriginalString);
        var page = await d.Http.GetAsync(r.Headers.Location);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("Test consent-web", html);
        Assert.Contains("e-mail", html);
        var returnUrl = Uri.UnescapeDataString(r.Headers.Location.OriginalString["/consent?ReturnUrl=".Length..]);
        var deny = await d.Http.PostAsync("/consent", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ReturnUrl"] = returnUrl, ["decision"] = "deny", ["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page),
        }));
        var q = OidcDriver.RedirectQuery(deny);
        Assert.Equal("access_denied", q["error"]);
        Assert.Equal(p["state"], q["state"]);
        Assert.Equal(Issuer, q["iss"]);
    }

    [Fact]
    public async Task Consent_Allow_IssuesCode_AndIsRemembered()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile api1");
        var r = await d.AuthorizeAsync(p);
        var page = await d.Http.GetAsync(r.Headers.Location);
        Assert.Contains("Test API", await page.Content.ReadAsStringAsync());
        var returnUrl = Uri.UnescapeDataString(r.Headers.Location!.OriginalString["/consent?ReturnUrl=".Length..]);
        var allow = await d.Http.PostAsync("/consent", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ReturnUrl"] = returnUrl, ["decision"] = "allow", ["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page),
        }));
        Assert.Equal(returnUrl, allow.Headers.Location!.OriginalString);
        Assert.True(OidcDriver.RedirectQuery(await d.Http.GetAsync(returnUrl)).ContainsKey("code"));

        // Remembered: the same scopes need no second consent, even with prompt=none.
        var again = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile api1");
        again["prompt"] = "none";
        Assert.True(OidcDriver.RedirectQuery(await d.AuthorizeAsync(again)).ContainsKey("code"));
        // A new scope asks again; prompt=consent always asks.
        var wider = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile email");
        Assert.StartsWith("/consent", (await d.AuthorizeAsync(wider)).Headers.Location!.OriginalString);
        var forced = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile");
        forced["prompt"] = "consent";
        Assert.StartsWith("/consent", (await d.AuthorizeAsync(forced)).Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task ConsentPage_WithForgedReturnUrl_ShowsProblemNotRedirect()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var r = await d.Http.GetAsync("/consent?ReturnUrl=" + Uri.EscapeDataString("/connect/authorize?client_id=web&redirect_uri=https://evil.example/cb"));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("not registered", await r.Content.ReadAsStringAsync());
    }
}
