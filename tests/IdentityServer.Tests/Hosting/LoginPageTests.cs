using System.Net;
using IdentityServer.Tests.Infrastructure;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Hosting;

/// <summary>The sign-in page: cookies, headers, antiforgery, lockout, logout.</summary>
public sealed class LoginPageTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    [Fact]
    public async Task LoginPage_HasSecurityHeaders_AndHostPrefixedCookies()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var page = await d.Http.GetAsync("/account/login");
        var csp = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("frame-ancestors 'none'", csp);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.All(page.Headers.GetValues("Set-Cookie"), c => Assert.StartsWith("__Host-", c));

        var login = await d.SubmitLoginAsync(UserName, Password);
        var cookie = login.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("__Host-idsrv="));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("httponly", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("path=/", cookie, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("domain=", cookie, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task LoginWithoutAntiforgeryToken_Rejected()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.Http.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.UserName"] = UserName, ["Input.Password"] = Password,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.DoesNotContain(r.Headers.TryGetValues("Set-Cookie", out var c) ? c : [], x => x.StartsWith("__Host-idsrv="));
    }

    [Fact]
    public async Task LoginByEmail_Works()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        Assert.Equal(HttpStatusCode.Redirect, (await d.SubmitLoginAsync(UserEmail, Password)).StatusCode);
    }

    [Fact]
    public async Task WrongPassword_SameMessageAsUnknownUser()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var wrong = await (await d.SubmitLoginAsync(UserName, "not-the-password-at-all")).Content.ReadAsStringAsync();
        var unknown = await (await d.SubmitLoginAsync("nobody-here", "not-the-password-at-all")).Content.ReadAsStringAsync();
        Assert.Contains(IdentityServer.Pages.Account.LoginModel.FailureMessage, wrong);
        Assert.Contains(IdentityServer.Pages.Account.LoginModel.FailureMessage, unknown);
    }

    [Fact]
    public async Task FiveFailures_LockTheAccount_EvenForTheRightPassword()
    {
        using var own = new IdentityServerFactory();
        var d = new OidcDriver(own.CreateBrowser());
        for (var i = 0; i < 5; i++)
            Assert.Equal(HttpStatusCode.OK, (await d.SubmitLoginAsync(UserName, $"wrong-password-{i}-xxxx")).StatusCode);
        var r = await d.SubmitLoginAsync(UserName, Password);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("locked after too many failed attempts", await r.Content.ReadAsStringAsync());
        Assert.DoesNotContain(r.Headers.TryGetValues("Set-Cookie", out var c) ? c : [], x => x.StartsWith("__Host-idsrv="));
        // Still locked 14 minutes later; the lockout lasts 15.
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "none";
        Assert.Equal("login_required", OidcDriver.RedirectQuery(await d.AuthorizeAsync(p))["error"]);
    }

    [Fact]
    public async Task SharedEmail_LoginByEmail_FailsCleanly_ByUserNameWorks()
    {
        using var own = new IdentityServerFactory();
        own.Settings["IdentityServer:Users:1:UserName"] = "alice2";
        own.Settings["IdentityServer:Users:1:Email"] = UserEmail;
        own.Settings["IdentityServer:Users:1:Password"] = Password;
        var d = new OidcDriver(own.CreateBrowser());
        var r = await d.SubmitLoginAsync(UserEmail, Password);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains(IdentityServer.Pages.Account.LoginModel.FailureMessage, await r.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Redirect, (await d.SubmitLoginAsync("alice2", Password)).StatusCode);
    }

    [Fact]
    public async Task OpenRedirectInReturnUrl_GoesHomeInstead()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.SubmitLoginAsync(UserName, Password, "https://evil.example/");
        Assert.Equal("/", r.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Logout_EndsTheSession()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        await d.LoginAsync();
        var page = await d.Http.GetAsync("/account/logout");
        var r = await d.Http.PostAsync("/account/logout", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page),
        }));
        Assert.Contains("signed out", await r.Content.ReadAsStringAsync());
        var p = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier());
        p["prompt"] = "none";
        Assert.Equal("login_required", OidcDriver.RedirectQuery(await d.AuthorizeAsync(p))["error"]);
    }

    [Fact]
    public async Task UnknownPage_404ReadablePage()
    {
        var r = await factory.CreateBrowser().GetAsync("/no-such-page");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Contains("Page not found", await r.Content.ReadAsStringAsync());
    }
}
