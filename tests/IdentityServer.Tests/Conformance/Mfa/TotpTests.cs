using System.Net;
using AngleSharp.Html.Parser;
using IdentityServer.Account;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.IdentityModel.JsonWebTokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Mfa;

/// <summary>RFC 6238 TOTP as a second factor, recovery codes, lockout, and what tokens say about it (RFC 8176 <c>amr</c>).</summary>
public sealed class TotpTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly AccountDriver _a = new(factory);

    private async Task<(string Name, string Key, string[] Recovery)> EnrolledUserAsync()
    {
        var name = await _a.CreateUserAsync("totp");
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: false);
        var (key, codes) = await _a.EnableTotpAsync(browser);
        return (name, key, codes);
    }

    [Fact]
    public void Totp_Rfc6238AppendixB_Sha1Vectors_MatchTheirStep_AndNoOther()
    {
        var key = "12345678901234567890"u8.ToArray();
        // RFC 6238 Appendix B lists 8 digits; authenticator apps show the last 6.
        (long Time, string Code)[] vectors = [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")];
        foreach (var (time, code) in vectors)
        {
            var at = DateTimeOffset.FromUnixTimeSeconds(time);
            Assert.Equal(time / Totp.StepSeconds, Totp.MatchStep(key, code, at));
            // One step of clock drift either way is forgiven (RFC 6238 §5.2); two are not.
            Assert.Equal(time / Totp.StepSeconds, Totp.MatchStep(key, code, at.AddSeconds(Totp.StepSeconds)));
            Assert.Null(Totp.MatchStep(key, code, at.AddSeconds(2 * Totp.StepSeconds)));
        }
        Assert.Null(Totp.MatchStep(key, "28708", DateTimeOffset.FromUnixTimeSeconds(59)));
        Assert.Null(Totp.MatchStep(key, "28708a", DateTimeOffset.FromUnixTimeSeconds(59)));
        Assert.Equal(key, Totp.FromBase32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"));
        Assert.Equal(key, Totp.FromBase32("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"));
        Assert.Null(Totp.FromBase32("GEZDGNBVGY3TQOJ1"));
    }

    [Fact]
    public async Task Enrolment_WrongFirstCode_StaysOff()
    {
        var name = await _a.CreateUserAsync("totp");
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: false);
        var setup = await browser.GetAsync("/account/two-factor?setup=true");
        var key = new HtmlParser().ParseDocument(await setup.Content.ReadAsStringAsync()).QuerySelector("#shared-key")!.TextContent.Replace(" ", "").ToUpperInvariant();
        var wrong = _a.CodeNow(key) == "000000" ? "111111" : "000000";
        var r = await AccountDriver.SubmitAsync(browser, "/account/two-factor?setup=true", new() { ["Code"] = wrong }, "/account/two-factor?handler=Enable");
        Assert.Contains("not correct", await r.Content.ReadAsStringAsync());
        Assert.False(await _a.WithUserAsync(name, (u, user) => u.GetTwoFactorEnabledAsync(user)));
        // Signing in still needs only the password.
        await _a.PasswordStepAsync(name, expectSecondStep: false);
    }

    [Fact]
    public async Task Enrolled_SignInAsksForCode_AndTheCodeSignsIn()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: true);
        // The password alone did not sign in.
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/account")).StatusCode);

        var page = await browser.GetAsync("/account/login/2fa?ReturnUrl=%2F");
        var input = new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync()).QuerySelector("input[name=Code]")!;
        Assert.Equal("one-time-code", input.GetAttribute("autocomplete"));

        var r = await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account")).StatusCode);
    }

    [Fact]
    public async Task ReplayedCode_Refused_EvenFromAnotherBrowser()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var code = _a.CodeNow(key);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), code)).StatusCode);

        var second = await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), code);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Contains(LoginWith2faMessage, await second.Content.ReadAsStringAsync());
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("already used time step"));
    }

    [Fact]
    public async Task CodeOneStepOld_Accepted_TwoStepsAway_Refused()
    {
        var (name, key, _) = await EnrolledUserAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(Totp.StepSeconds)); // the step before now is then not the enrolment's
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), _a.CodeNow(key, 2))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), _a.CodeNow(key, -2))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), _a.CodeNow(key, -1))).StatusCode);
    }

    [Fact]
    public async Task EnrolmentCode_CannotSignIn_EvenAfterAFailedPassword()
    {
        var name = await _a.CreateUserAsync("totp");
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: false);
        var setup = await browser.GetAsync("/account/two-factor?setup=true");
        var key = new HtmlParser().ParseDocument(await setup.Content.ReadAsStringAsync()).QuerySelector("#shared-key")!.TextContent.Replace(" ", "").ToUpperInvariant();
        var enrolment = _a.CodeNow(key);
        await AccountDriver.SubmitAsync(browser, "/account/two-factor?setup=true", new() { ["Code"] = enrolment }, "/account/two-factor?handler=Enable");

        // A failed password leaves an access-failed count, so the second step's success saves the user again.
        Assert.Equal(HttpStatusCode.OK, (await new OidcDriver(factory.CreateBrowser()).SubmitLoginAsync(name, "wrong-password-123")).StatusCode);
        var r = await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), enrolment);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains(LoginWith2faMessage, await r.Content.ReadAsStringAsync());

        // A fresh code signs in once, and that save does not make it (or the enrolment code) usable again.
        var next = _a.CodeNow(key, 1);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), next)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), next)).StatusCode);
    }

    [Fact]
    public async Task RecoveryCodes_EachWorksOnce_AndTheOthersKeepWorking()
    {
        var (name, _, recovery) = await EnrolledUserAsync();
        foreach (var code in recovery.Take(3))
            Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), code, recovery: true)).StatusCode);
        Assert.Equal(7, await _a.WithUserAsync(name, (u, user) => u.CountRecoveryCodesAsync(user)));
    }

    [Fact]
    public async Task UnreadableAuthenticatorKey_StillAsksForASecondStep_RecoveryCodeWorks()
    {
        var (name, key, recovery) = await EnrolledUserAsync();
        await _a.WithUserAsync(name, (u, user) => u.SetAuthenticationTokenAsync(user, "[AspNetUserStore]", "AuthenticatorKey", "not-a-sealed-value"));

        var browser = await _a.PasswordStepAsync(name, expectSecondStep: true);
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key))).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(browser, recovery[0], recovery: true)).StatusCode);
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("cannot be read"));
    }

    [Fact]
    public async Task PendingSecondStep_SurvivesAPasskeyCeremony_ButNotAPasswordChange()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        // The login page (another tab) starts a passkey ceremony: the second step is still pending.
        var token = await OidcDriver.AntiforgeryTokenAsync(await browser.GetAsync("/account/login"));
        var options = new HttpRequestMessage(HttpMethod.Post, "/account/login?handler=PasskeyOptions");
        options.Headers.Add("RequestVerificationToken", token);
        Assert.Equal(HttpStatusCode.OK, (await browser.SendAsync(options)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account/login/2fa")).StatusCode);

        // Someone resets the password meanwhile: the pending step is void.
        await _a.WithUserAsync(name, (u, user) => u.UpdateSecurityStampAsync(user));
        var back = await browser.GetAsync("/account/login/2fa");
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.StartsWith("/account/login", back.Headers.Location!.OriginalString);
        Assert.DoesNotContain("/2fa", back.Headers.Location.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.GetAsync("/account")).StatusCode); // not signed in
    }

    [Fact]
    public async Task SetUpPage_DoesNotRenewTheSecurityStamp()
    {
        var name = await _a.CreateUserAsync("totp");
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: false);
        var before = await _a.WithUserAsync(name, (u, user) => u.GetSecurityStampAsync(user));
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account/two-factor?setup=true")).StatusCode);
        Assert.Equal(before, await _a.WithUserAsync(name, (u, user) => u.GetSecurityStampAsync(user)));
    }

    [Fact]
    public async Task WrongPasswordsOnAccountPages_CountTowardLockout()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        for (var i = 0; i < 3; i++)
            await AccountDriver.SubmitAsync(browser, "/account/password",
                new() { ["CurrentPassword"] = "wrong-password-123", ["NewPassword"] = "a-new-password-1234", ["ConfirmPassword"] = "a-new-password-1234" });
        for (var i = 0; i < 2; i++)
            await AccountDriver.SubmitAsync(browser, "/account/two-factor", new() { ["Password"] = "wrong-password-123" }, "/account/two-factor?handler=Disable");
        Assert.True(await _a.WithUserAsync(name, (u, user) => u.IsLockedOutAsync(user)));
        // Locked out: even the right password no longer turns two-step verification off.
        var r = await AccountDriver.SubmitAsync(browser, "/account/two-factor", new() { ["Password"] = AccountDriver.Password }, "/account/two-factor?handler=Disable");
        Assert.Contains("Too many wrong", await r.Content.ReadAsStringAsync());
        Assert.True(await _a.WithUserAsync(name, (u, user) => u.GetTwoFactorEnabledAsync(user)));
    }

    [Fact]
    public async Task RecoveryCode_WorksOnce()
    {
        var (name, _, recovery) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(browser, recovery[3], recovery: true)).StatusCode);
        var left = new HtmlParser().ParseDocument(await (await browser.GetAsync("/account/two-factor")).Content.ReadAsStringAsync());
        Assert.Equal("9", left.QuerySelector("#recovery-left")!.TextContent);

        var again = await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), recovery[3], recovery: true);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains(LoginWith2faMessage, await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task RegeneratedRecoveryCodes_ReplaceTheOldOnes()
    {
        var (name, key, recovery) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        var r = await AccountDriver.SubmitAsync(browser, "/account/two-factor", new(), "/account/two-factor?handler=RecoveryCodes");
        var fresh = new HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync()).QuerySelectorAll("#recovery-codes code").Select(c => c.TextContent).ToArray();
        Assert.Equal(10, fresh.Length);
        Assert.Empty(fresh.Intersect(recovery));
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), recovery[0], recovery: true)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, true), fresh[0], recovery: true)).StatusCode);
    }

    [Fact]
    public async Task WrongCodes_CountTowardLockout()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        var wrong = _a.CodeNow(key) == "000000" ? "111111" : "000000";
        for (var i = 0; i < 5; i++) await AccountDriver.SecondStepAsync(browser, wrong);
        Assert.True(await _a.WithUserAsync(name, (u, user) => u.IsLockedOutAsync(user)));
        // Locked out: even the right code (and the right password) no longer gets in.
        var r = await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains(LoginWith2faMessage, await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SecretsAreNotStoredInTheClear()
    {
        var (_, key, recovery) = await EnrolledUserAsync();
        var raw = TestDatabase.Dump(factory.Provider, factory.Database);
        Assert.DoesNotContain(key, raw, StringComparison.OrdinalIgnoreCase);
        foreach (var code in recovery) Assert.DoesNotContain(code, raw, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Disable_NeedsCodeOrPassword_ThenSignInIsPasswordOnly()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));

        var refused = await AccountDriver.SubmitAsync(browser, "/account/two-factor", new() { ["Password"] = "not-the-password-123" }, "/account/two-factor?handler=Disable");
        Assert.Contains("to turn two-step verification off", await refused.Content.ReadAsStringAsync());
        Assert.True(await _a.WithUserAsync(name, (u, user) => u.GetTwoFactorEnabledAsync(user)));

        var off = await AccountDriver.SubmitAsync(browser, "/account/two-factor", new() { ["Password"] = AccountDriver.Password }, "/account/two-factor?handler=Disable");
        Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
        Assert.False(await _a.WithUserAsync(name, (u, user) => u.GetTwoFactorEnabledAsync(user)));
        Assert.Null(await _a.WithUserAsync(name, (u, user) => u.GetAuthenticatorKeyAsync(user)));
        // The session survived the change, and the next sign-in is password only.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/account/two-factor")).StatusCode);
        await _a.PasswordStepAsync(name, expectSecondStep: false);
    }

    [Fact]
    public async Task Disable_WithCurrentCode()
    {
        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        factory.Clock.Advance(TimeSpan.FromSeconds(Totp.StepSeconds));
        var off = await AccountDriver.SubmitAsync(browser, "/account/two-factor", new() { ["Code"] = _a.CodeNow(key) }, "/account/two-factor?handler=Disable");
        Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
        Assert.False(await _a.WithUserAsync(name, (u, user) => u.GetTwoFactorEnabledAsync(user)));
    }

    [Fact]
    public async Task IdToken_Amr_PasswordOnly_Totp_RecoveryCode()
    {
        var passwordOnly = await _a.CreateUserAsync("amr");
        Assert.Equal(["pwd"], await AmrAfterCodeFlowAsync(await _a.PasswordStepAsync(passwordOnly, false)));

        var (name, key, recovery) = await EnrolledUserAsync();
        var totp = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(totp, _a.CodeNow(key));
        Assert.Equal(["mfa", "otp", "pwd"], await AmrAfterCodeFlowAsync(totp));

        var viaRecovery = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(viaRecovery, recovery[0], recovery: true);
        Assert.Equal(["mfa", "pwd"], await AmrAfterCodeFlowAsync(viaRecovery));
    }

    [Fact]
    public async Task RequireMfaClient_PasswordOnlyUser_AccessDenied_TotpUser_GetsACode()
    {
        var verifier = OidcDriver.NewVerifier();
        var p = OidcDriver.AuthorizeParameters(verifier, MfaClient, scope: "openid profile");

        // Signed in with a password only: sent to sign in again; with no second factor to give → access_denied to the client.
        var passwordOnlyName = await _a.CreateUserAsync("mfa");
        var passwordOnly = new OidcDriver(await _a.PasswordStepAsync(passwordOnlyName, false));
        var toLogin = await passwordOnly.AuthorizeAsync(p);
        Assert.StartsWith("/account/login", toLogin.Headers.Location!.OriginalString);
        var returnUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(toLogin.Headers.Location.OriginalString[toLogin.Headers.Location.OriginalString.IndexOf('?')..])["ReturnUrl"].ToString();
        var relogin = await passwordOnly.SubmitLoginAsync(passwordOnlyName, AccountDriver.Password, returnUrl);
        var denied = await passwordOnly.Http.GetAsync(relogin.Headers.Location!.OriginalString);
        Assert.Equal("access_denied", OidcDriver.RedirectQuery(denied)["error"]);

        // With TOTP: the password step leads to the code, then the client gets its code.
        var (name, key, _) = await EnrolledUserAsync();
        var totp = new OidcDriver(await _a.PasswordStepAsync(name, true));
        await AccountDriver.SecondStepAsync(totp.Http, _a.CodeNow(key));
        var code = await totp.AuthorizeAsync(p);
        Assert.True(OidcDriver.RedirectQuery(code).ContainsKey("code"), code.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task RequireMfaDeviceClient_ApprovalNeedsASecondFactor()
    {
        var start = await new DeviceDriver(factory).StartAsync(MfaDeviceClient, null, "openid");

        var passwordOnly = await _a.CreateUserAsync("mfa");
        var page = await DeviceDriver.OpenConfirmationAsync(factory.CreateBrowser(), start.Str("user_code"), passwordOnly, AccountDriver.Password);
        Assert.Equal("Two-step verification required", DeviceDriver.Heading(page.Html));
        Assert.DoesNotContain("value=\"approve\"", page.Html);
        Assert.Contains("/account/login?ReturnUrl=", page.Html);

        // A hand-made POST (the page offered no button) is refused below the page too.
        var sneaky = factory.CreateBrowser();
        var entered = await DeviceDriver.EnterCodeAsync(sneaky, start.Str("user_code"));
        var confirmUrl = entered.Headers.Location!.OriginalString;
        await new OidcDriver(sneaky).SubmitLoginAsync(passwordOnly, AccountDriver.Password);
        var token = await OidcDriver.AntiforgeryTokenAsync(await sneaky.GetAsync("/account"));
        var ticket = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(confirmUrl[confirmUrl.IndexOf('?')..])["ticket"].ToString();
        var post = await sneaky.PostAsync(confirmUrl, new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Ticket"] = ticket, ["decision"] = "approve", ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal("Two-step verification required", DeviceDriver.Heading(await post.Content.ReadAsStringAsync()));
        await Json.ErrorAsync(await new DeviceDriver(factory).PollAsync(start.Str("device_code"), MfaDeviceClient, null), HttpStatusCode.BadRequest, "authorization_pending");

        var (name, key, _) = await EnrolledUserAsync();
        var browser = await _a.PasswordStepAsync(name, true);
        await AccountDriver.SecondStepAsync(browser, _a.CodeNow(key));
        var confirmation = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        Assert.Equal("Device approved", DeviceDriver.Heading(await DeviceDriver.DecideAsync(browser, confirmation, "approve")));
    }

    /// <summary>The sorted <c>amr</c> of an ID token obtained with the browser's current session.</summary>
    private static async Task<string[]> AmrAfterCodeFlowAsync(HttpClient browser)
    {
        var d = new OidcDriver(browser);
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, scope: "openid"));
        var tokens = await Json.OkAsync(await d.RedeemCodeAsync(code, verifier));
        var id = new JsonWebToken(tokens.Str("id_token"));
        return id.Claims.Where(c => c.Type == "amr").Select(c => c.Value).Order().ToArray();
    }

    private const string LoginWith2faMessage = "The code is not correct";
}
