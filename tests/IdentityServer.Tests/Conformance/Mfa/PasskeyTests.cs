using System.Net;
using System.Text.Json.Nodes;
using IdentityServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace IdentityServer.Tests.Conformance.Mfa;

/// <summary>
/// WebAuthn ceremonies against the real pages with a software authenticator: what the server must refuse
/// (WebAuthn Level 3 §7.1–§7.2) and what the session records (RFC 8176 <c>amr</c>).
/// </summary>
public sealed class PasskeyTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private const string Origin = IdentityServerFactory.Issuer; // https://localhost
    private readonly AccountDriver _a = new(factory);

    /// <summary>A new user with a passkey held by the returned authenticator.</summary>
    private async Task<(string Name, SoftwareAuthenticator Authenticator)> UserWithPasskeyAsync(bool synced = false, uint signCount = 0)
    {
        var name = await _a.CreateUserAsync("pk");
        var authenticator = new SoftwareAuthenticator("localhost", synced) { SignCount = signCount };
        var browser = new CookieJarBrowser(factory);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.PasswordSignInAsync(name, AccountDriver.Password)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.AddPasskeyAsync(authenticator, "Test key", Origin)).StatusCode);
        return (name, authenticator);
    }

    /// <summary>One passkey sign-in on the login page; <paramref name="respond"/> builds the authenticator's answer to the options.</summary>
    private static async Task<(HttpResponseMessage Response, CookieJarBrowser Browser, Func<Task<HttpResponseMessage>> Replay)> PasskeySignInAsync(
        IdentityServerFactory factory, Func<string, string> respond)
    {
        var browser = new CookieJarBrowser(factory);
        var token = await browser.TokenAsync("/account/login");
        var options = await (await browser.PostAsync("/account/login?handler=PasskeyOptions", new(), token)).Content.ReadAsStringAsync();
        var credential = respond(options);
        var copied = new Dictionary<string, string>(browser.Cookies);
        var response = await browser.PostAsync("/account/login?handler=Passkey", new() { ["credential"] = credential }, token);
        return (response, browser, () => new CookieJarBrowser(factory).PostAsync("/account/login?handler=Passkey", new() { ["credential"] = credential }, token, copied));
    }

    private static async Task AssertRefusedAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(response.Headers.TryGetValues("Set-Cookie", out var c) ? c : [], h => h.StartsWith("__Host-idsrv=", StringComparison.Ordinal));
        Assert.Contains("role=\"alert\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Options_RpIdFromIssuer_UserVerificationAndDiscoverableCredentialRequired()
    {
        var browser = new CookieJarBrowser(factory);
        var token = await browser.TokenAsync("/account/login");
        var request = JsonNode.Parse(await (await browser.PostAsync("/account/login?handler=PasskeyOptions", new(), token)).Content.ReadAsStringAsync())!;
        Assert.Equal("localhost", request["rpId"]!.GetValue<string>());
        Assert.Equal("required", request["userVerification"]!.GetValue<string>());
        Assert.Empty(request["allowCredentials"]!.AsArray());

        var name = await _a.CreateUserAsync("pk");
        var signedIn = new CookieJarBrowser(factory);
        await signedIn.PasswordSignInAsync(name, AccountDriver.Password);
        var creation = JsonNode.Parse(await (await signedIn.PostAsync("/account/passkeys?handler=CreationOptions", new(), await signedIn.TokenAsync("/account/passkeys"))).Content.ReadAsStringAsync())!;
        Assert.Equal("localhost", creation["rp"]!["id"]!.GetValue<string>());
        Assert.Equal("required", creation["authenticatorSelection"]!["userVerification"]!.GetValue<string>());
        Assert.Equal("required", creation["authenticatorSelection"]!["residentKey"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(false, "hwk")]
    [InlineData(true, "swk")]
    public async Task SignIn_WithPasskeyAlone_AmrNamesTheKeyKindAndMfa(bool synced, string kind)
    {
        var (_, authenticator) = await UserWithPasskeyAsync(synced);
        var (response, browser, _) = await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin));
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);

        // The session's amr reaches the ID token of a code flow.
        var http = factory.CreateBrowser();
        http.DefaultRequestHeaders.Add("Cookie", string.Join("; ", browser.Cookies.Select(kv => $"{kv.Key}={kv.Value}")));
        var d = new OidcDriver(http);
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, scope: "openid"));
        var id = new JsonWebToken((await Json.OkAsync(await d.RedeemCodeAsync(code, verifier))).Str("id_token"));
        Assert.Equal(new[] { kind, "mfa", "user" }.Order(), id.Claims.Where(c => c.Type == "amr").Select(c => c.Value).Order());
    }

    [Fact]
    public async Task ReplayedAssertion_WithCopiedCeremonyCookie_Refused_EvenWithoutACounter()
    {
        var (_, authenticator) = await UserWithPasskeyAsync(synced: true); // counter stays 0, as with synced passkeys
        var (first, _, replay) = await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin));
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        await AssertRefusedAsync(await replay());
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("already used (replay)"));
    }

    [Fact]
    public async Task OtherOrigin_Refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync();
        await AssertRefusedAsync((await PasskeySignInAsync(factory, o => authenticator.Assert(o, "https://evil.example"))).Response);
        // The same authenticator still works from the right origin.
        Assert.Equal(HttpStatusCode.Redirect, (await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin))).Response.StatusCode);
    }

    [Fact]
    public async Task OtherRpId_Refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync();
        await AssertRefusedAsync((await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin, signedRpId: "evil.example"))).Response);
    }

    [Fact]
    public async Task WithoutUserVerification_Refused()
    {
        var (_, authenticator) = await UserWithPasskeyAsync();
        await AssertRefusedAsync((await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin, userVerified: false))).Response);
    }

    [Fact]
    public async Task SignCounterGoingBack_Refused_AndLogged()
    {
        var (_, authenticator) = await UserWithPasskeyAsync(signCount: 5);
        authenticator.SignCount = 6;
        Assert.Equal(HttpStatusCode.Redirect, (await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin))).Response.StatusCode);
        authenticator.SignCount = 6; // a clone that did not see the last use
        await AssertRefusedAsync((await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin))).Response);
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("signature counter did not grow"));
    }

    [Fact]
    public async Task LockedOutUser_Refused()
    {
        var (name, authenticator) = await UserWithPasskeyAsync();
        await _a.WithUserAsync(name, (u, user) => u.SetLockoutEndDateAsync(user, DateTimeOffset.UtcNow.AddHours(1)));
        await AssertRefusedAsync((await PasskeySignInAsync(factory, o => authenticator.Assert(o, Origin))).Response);
    }

    [Fact]
    public async Task GarbageOrMissingCredential_ReadablePage_No500()
    {
        foreach (var credential in new[] { "not json", "{}", """{"id":"x","type":"public-key","response":{}}""" })
            await AssertRefusedAsync((await PasskeySignInAsync(factory, _ => credential)).Response);

        // No ceremony under way (no options fetched): still a page, not a 500.
        var browser = new CookieJarBrowser(factory);
        var token = await browser.TokenAsync("/account/login");
        var authenticator = new SoftwareAuthenticator("localhost");
        await AssertRefusedAsync(await browser.PostAsync("/account/login?handler=Passkey",
            new() { ["credential"] = authenticator.Assert("""{"challenge":"AAAA"}""", Origin) }, token));
    }
}

/// <summary>A server whose passkey ceremonies are allowed only from https://accounts.localhost (RP ID stays localhost).</summary>
public sealed class ConfiguredOriginFactory : IdentityServerFactory
{
    public const string AllowedOrigin = "https://accounts.localhost";

    public ConfiguredOriginFactory() => Settings["IdentityServer:Passkeys:AllowedOrigins:0"] = AllowedOrigin;
}

/// <summary><c>IdentityServer:Passkeys:AllowedOrigins</c> decides which origins may run ceremonies (WebAuthn §7.2 step 13).</summary>
public sealed class PasskeyOriginConfigurationTests(ConfiguredOriginFactory factory) : IClassFixture<ConfiguredOriginFactory>
{
    [Fact]
    public async Task OnlyTheConfiguredOrigin_IsAccepted()
    {
        var name = await new AccountDriver(factory).CreateUserAsync("pk");
        var authenticator = new SoftwareAuthenticator("localhost");
        var browser = new CookieJarBrowser(factory);
        await browser.PasswordSignInAsync(name, AccountDriver.Password);

        // Registration from the issuer's own origin is refused here: it is not in the list.
        var refused = await browser.AddPasskeyAsync(authenticator, "k", IdentityServerFactory.Issuer);
        Assert.Equal(HttpStatusCode.OK, refused.StatusCode);
        Assert.Contains("could not be added", await refused.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Redirect, (await browser.AddPasskeyAsync(authenticator, "k", ConfiguredOriginFactory.AllowedOrigin)).StatusCode);
    }
}

/// <summary>Adding a factor to an account that has one needs a session that used one (NIST SP 800-63B §6.1.2.1).</summary>
public sealed class PasskeyStepUpTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    [Fact]
    public async Task PasswordOnlySession_CannotAddASecondPasskey_PasskeySessionCan()
    {
        var a = new AccountDriver(factory);
        var name = await a.CreateUserAsync("pk");
        var first = new SoftwareAuthenticator("localhost");

        // First passkey: the account has no factor yet, a password session may add it.
        var browser = new CookieJarBrowser(factory);
        await browser.PasswordSignInAsync(name, AccountDriver.Password);
        Assert.Equal(HttpStatusCode.Redirect, (await browser.AddPasskeyAsync(first, "first")).StatusCode);

        // Now it has one: the same password session is asked to sign in again, and gets no options.
        var page = await browser.GetAsync("/account/passkeys");
        Assert.Contains("id=\"step-up\"", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.PostAsync("/account/passkeys?handler=CreationOptions", new(), await OidcDriver.AntiforgeryTokenAsync(page))).StatusCode);

        // Signed in with the passkey, adding another works.
        var passkeySession = new CookieJarBrowser(factory);
        Assert.Equal(HttpStatusCode.Redirect, (await passkeySession.PasskeySignInAsync(first)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await passkeySession.AddPasskeyAsync(new SoftwareAuthenticator("localhost"), "second")).StatusCode);
        Assert.Equal(2, await a.WithUserAsync(name, async (u, user) => (await u.GetPasskeysAsync(user)).Count));
    }

    [Fact]
    public async Task OverlongPasskeyName_Refused_NothingStored()
    {
        var a = new AccountDriver(factory);
        var name = await a.CreateUserAsync("pk");
        var browser = new CookieJarBrowser(factory);
        await browser.PasswordSignInAsync(name, AccountDriver.Password);
        var r = await browser.AddPasskeyAsync(new SoftwareAuthenticator("localhost"), new string('x', 5000));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("at most 100 characters", await r.Content.ReadAsStringAsync());
        Assert.Equal(0, await a.WithUserAsync(name, async (u, user) => (await u.GetPasskeysAsync(user)).Count));
    }
}
