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
        Assert.Equal("alice", doc.QuerySelector("input[name='Input.UserName']")!.GetAttribute("value"));
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

    /// <summary>Follows a redirect to the login page: signs in there and returns the authorization response that follows.</summary>
    private async Task<HttpResponseMessage> SignInAtLoginPage(OidcDriver d, HttpResponseMessage toLogin)
    {
        var location = toLogin.Headers.Location!.OriginalString;
        Assert.StartsWith("/account/login?ReturnUrl=", location);
        var returnUrl = Uri.UnescapeDataString(location["/account/login?ReturnUrl=".Length..]);
        var login = await d.SubmitLoginAsync(UserName, Password, returnUrl);
        Assert.Equal(returnUrl, login.Headers.Location!.OriginalString);
        return await d.Http.GetAsync(returnUrl);
    }

    [Theory]
    [InlineData("login")]
    [InlineData("select_account")]
    public async Task PromptLogin_WithSession_AsksForLogin_ThenIssuesCodeWithNewAuthTime(string prompt)
    {
        await _d.LoginAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(30));
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = prompt;
        var r = await _d.AuthorizeAsync(p);
        var final = await SignInAtLoginPage(_d, r);
        Assert.True(OidcDriver.RedirectQuery(final).ContainsKey("code"));
    }

    [Fact]
    public async Task PromptLogin_ReturnUrlWithoutTicket_CannotSkipReauthentication()
    {
        await _d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "login";
        var r = await _d.AuthorizeAsync(p);
        var returnUrl = Uri.UnescapeDataString(r.Headers.Location!.OriginalString["/account/login?ReturnUrl=".Length..]);
        Assert.Contains("prompt=login", returnUrl);

        // Opening the return URL while still signed in with the old session does not yield a code.
        Assert.StartsWith("/account/login", (await _d.Http.GetAsync(returnUrl)).Headers.Location!.OriginalString);
        // Nor does the same request without its ticket, or with a ticket made for another request.
        Assert.StartsWith("/account/login", (await _d.AuthorizeAsync(p)).Headers.Location!.OriginalString);
        var ticket = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(returnUrl[returnUrl.IndexOf('?')..])["login_ticket"].ToString();
        await _d.LoginAsync();
        var other = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        other["prompt"] = "login";
        other["login_ticket"] = ticket;
        Assert.StartsWith("/account/login", (await _d.AuthorizeAsync(other)).Headers.Location!.OriginalString);
        other["login_ticket"] = "forged";
        Assert.StartsWith("/account/login", (await _d.AuthorizeAsync(other)).Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task MaxAgeExceeded_AsksForLogin_ThenIssuesCode()
    {
        await _d.LoginAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(120));
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["max_age"] = "60";
        var final = await SignInAtLoginPage(_d, await _d.AuthorizeAsync(p));
        Assert.True(OidcDriver.RedirectQuery(final).ContainsKey("code"));
        p["max_age"] = "3600";
        Assert.True(OidcDriver.RedirectQuery(await _d.AuthorizeAsync(p)).ContainsKey("code"));
    }

    [Fact]
    public async Task MaxAgeZero_SignsInOnce_NoLoop()
    {
        await _d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["max_age"] = "0";
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        var final = await SignInAtLoginPage(_d, await _d.AuthorizeAsync(p));
        Assert.True(OidcDriver.RedirectQuery(final).ContainsKey("code"));
    }

    [Fact]
    public async Task PromptConsent_ClientWithoutRequireConsent_ShowsConsentPage()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "consent";
        Assert.StartsWith("/consent?ReturnUrl=", (await d.AuthorizeAsync(p)).Headers.Location!.OriginalString);
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
        p["prompt"] = "consent"; // other tests in this class may have remembered consent to these scopes
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
        var resumed = allow.Headers.Location!.OriginalString;
        Assert.StartsWith(returnUrl + "&consent_ticket=", resumed);
        Assert.True(OidcDriver.RedirectQuery(await d.Http.GetAsync(resumed)).ContainsKey("code"));

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
    public async Task Consent_TicketExpiredBeforeUse_AskedAgain_TheNewTicketReplacesTheOld()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync(await new AccountDriver(factory).CreateUserAsync("consent"), AccountDriver.Password); // a user of its own: consent is remembered
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile");
        p["prompt"] = "consent";
        async Task<string> AllowAsync(HttpResponseMessage toConsent)
        {
            var page = await d.Http.GetAsync(toConsent.Headers.Location);
            var allow = await d.Http.PostAsync("/consent", new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["ReturnUrl"] = Uri.UnescapeDataString(toConsent.Headers.Location!.OriginalString["/consent?ReturnUrl=".Length..]),
                ["decision"] = "allow", ["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page),
            }));
            return allow.Headers.Location!.OriginalString;
        }
        var resumed = await AllowAsync(await d.AuthorizeAsync(p));

        factory.Clock.Advance(TimeSpan.FromMinutes(16)); // the consent ticket lives 15 minutes
        var askedAgain = await d.Http.GetAsync(resumed);
        Assert.StartsWith("/consent?ReturnUrl=", askedAgain.Headers.Location!.OriginalString);
        var resumedAgain = await AllowAsync(askedAgain);
        Assert.Single(Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(new Uri(new Uri(Issuer), resumedAgain).Query)["consent_ticket"]);
        Assert.True(OidcDriver.RedirectQuery(await d.Http.GetAsync(resumedAgain)).ContainsKey("code"));
    }

    [Fact]
    public async Task Consent_DoubleAllow_BothSucceed_No5xx()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid email api1");
        p["prompt"] = "consent";
        var r = await d.AuthorizeAsync(p);
        var page = await d.Http.GetAsync(r.Headers.Location);
        var returnUrl = Uri.UnescapeDataString(r.Headers.Location!.OriginalString["/consent?ReturnUrl=".Length..]);
        var token = await OidcDriver.AntiforgeryTokenAsync(page);
        var posts = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => d.Http.PostAsync("/consent", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ReturnUrl"] = returnUrl, ["decision"] = "allow", ["__RequestVerificationToken"] = token,
        }))));
        Assert.All(posts, x => Assert.Equal(HttpStatusCode.Redirect, x.StatusCode));
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
