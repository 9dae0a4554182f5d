using System.Net;
using AngleSharp.Html.Parser;
using IdentityServer.Account;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Creates users and drives the account pages and the two-step sign-in as a person's browser would.</summary>
public sealed class AccountDriver(IdentityServerFactory factory)
{
    public const string Password = "account-password-1234";

    /// <summary>A new user with <see cref="Password"/>; returns its user name.</summary>
    public async Task<string> CreateUserAsync(string prefix = "user")
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..24];
        using var scope = factory.Services.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        Assert.True((await users.CreateAsync(new ApplicationUser { UserName = name, Email = name + "@example.test" }, Password)).Succeeded);
        return name;
    }

    /// <summary>Runs <paramref name="action"/> with a scoped user manager and the user named <paramref name="name"/>.</summary>
    public async Task<T> WithUserAsync<T>(string name, Func<UserManager<ApplicationUser>, ApplicationUser, Task<T>> action)
    {
        using var scope = factory.Services.CreateScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
        return await action(users, (await users.FindByNameAsync(name))!);
    }

    /// <summary>GETs <paramref name="path"/> and POSTs <paramref name="form"/> to it (or to <paramref name="postPath"/>) with the page's antiforgery token.</summary>
    public static async Task<HttpResponseMessage> SubmitAsync(HttpClient browser, string path, Dictionary<string, string> form, string? postPath = null)
    {
        var page = await browser.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        form["__RequestVerificationToken"] = await OidcDriver.AntiforgeryTokenAsync(page);
        return await browser.PostAsync(postPath ?? path, new FormUrlEncodedContent(form));
    }

    /// <summary>Signs a new browser in with the password; asserts the second step is asked for when <paramref name="expectSecondStep"/>.</summary>
    public async Task<HttpClient> PasswordStepAsync(string name, bool expectSecondStep, string? returnUrl = null)
    {
        var browser = factory.CreateBrowser();
        var r = await new OidcDriver(browser).SubmitLoginAsync(name, Password, returnUrl);
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        var location = r.Headers.Location!.OriginalString;
        Assert.Equal(expectSecondStep, location.StartsWith("/account/login/2fa", StringComparison.Ordinal));
        return browser;
    }

    /// <summary>Submits a code on the second-step page (<paramref name="recovery"/>: a recovery code). Returns the response (302 on success).</summary>
    public static Task<HttpResponseMessage> SecondStepAsync(HttpClient browser, string code, bool recovery = false, string returnUrl = "/") =>
        SubmitAsync(browser, $"/account/login/2fa?ReturnUrl={Uri.EscapeDataString(returnUrl)}" + (recovery ? "&Recovery=true" : ""),
            new() { ["Code"] = code, ["ReturnUrl"] = returnUrl, ["Recovery"] = recovery ? "true" : "false" });

    /// <summary>Turns the authenticator app on for the signed-in <paramref name="browser"/>; returns the base32 key and the recovery codes.</summary>
    public async Task<(string Key, string[] RecoveryCodes)> EnableTotpAsync(HttpClient browser)
    {
        var setup = await browser.GetAsync("/account/two-factor?setup=true");
        Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
        var doc = new HtmlParser().ParseDocument(await setup.Content.ReadAsStringAsync());
        var key = doc.QuerySelector("#shared-key")!.TextContent.Replace(" ", "").ToUpperInvariant();
        Assert.StartsWith("data:image/png;base64,", doc.QuerySelector("img#qr")!.GetAttribute("src"));

        var r = await SubmitAsync(browser, "/account/two-factor?setup=true", new() { ["Code"] = CodeNow(key) }, "/account/two-factor?handler=Enable");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var codes = new HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync()).QuerySelectorAll("#recovery-codes code").Select(c => c.TextContent).ToArray();
        Assert.Equal(10, codes.Length);
        // The enrolment used this step's code: later sign-ins need a later step.
        factory.Clock.Advance(TimeSpan.FromSeconds(Totp.StepSeconds));
        return (key, codes);
    }

    /// <summary>
    /// The TOTP code for <paramref name="base32Key"/> at the server's clock, shifted by <paramref name="steps"/>, as an authenticator
    /// app computes it (Otp.NET: RFC 6238, SHA-1, 30 s, 6 digits).
    /// </summary>
    public string CodeNow(string base32Key, int steps = 0) =>
        new OtpNet.Totp(OtpNet.Base32Encoding.ToBytes(base32Key)).ComputeTotp(factory.Clock.GetUtcNow().UtcDateTime.AddSeconds(steps * Totp.StepSeconds));
}
