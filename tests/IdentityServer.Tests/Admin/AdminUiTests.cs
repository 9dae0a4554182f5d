using OpenIddict.EntityFrameworkCore.Models;
using System.Net;
using AngleSharp.Html.Parser;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Admin;

/// <summary>The admin UI through its real pages: who gets in (login, 403, step-up), clients and users, keys, audit.</summary>
public sealed class AdminUiTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private async Task<HttpClient> AdminBrowserAsync()
    {
        var browser = factory.CreateBrowser();
        Assert.Equal(HttpStatusCode.Redirect, (await new OidcDriver(browser).SubmitLoginAsync(AdminUserName, AdminPassword)).StatusCode);
        return browser;
    }

    private static async Task<AngleSharp.Html.Dom.IHtmlDocument> PageAsync(HttpResponseMessage r) =>
        new HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync());

    [Fact]
    public async Task SignedOut_GoesToLogin_NonAdmin_Gets403_Admin_GetsIn()
    {
        var anonymous = await factory.CreateBrowser().GetAsync("/admin/clients");
        Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
        Assert.Equal("/account/login", new Uri(new Uri(Issuer), anonymous.Headers.Location!).AbsolutePath);

        var alice = factory.CreateBrowser();
        await new OidcDriver(alice).LoginAsync();
        var denied = await alice.GetAsync("/admin/clients");
        Assert.Equal(HttpStatusCode.Redirect, denied.StatusCode);
        var page = await alice.GetAsync(denied.Headers.Location!);
        Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await (await AdminBrowserAsync()).GetAsync("/admin/clients")).StatusCode);
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("Admin UI: not signed in (401)"));
        Assert.Contains(factory.Logs.Entries, e => e.Message.Contains("without the admin role (403)"));
    }

    [Fact]
    public async Task CreateConfidentialClient_SecretShownOnce_WorksAtOnce_ThenRotateDisableDelete()
    {
        var browser = await AdminBrowserAsync();
        var created = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit", new()
        {
            ["NewClientId"] = "ui-made", ["DisplayName"] = "Made in the UI", ["Confidential"] = "true", ["Enabled"] = "true",
            ["GrantTypes"] = "client_credentials", ["Scopes"] = ApiScope,
        }, "/admin/clients/edit?handler=Save");
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var secret = (await PageAsync(created)).QuerySelector("#client-secret")!.TextContent;
        Assert.Equal(43, secret.Length);

        var d = new OidcDriver(factory.CreateClient(new() { BaseAddress = new Uri(Issuer) }));
        Task<HttpResponseMessage> Token(string s) => d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, "ui-made", s);
        await Json.OkAsync(await Token(secret));
        Assert.DoesNotContain(secret, await (await browser.GetAsync("/admin/clients/edit/ui-made")).Content.ReadAsStringAsync());

        // The page that shows the new client posts its further forms to that client (the action attributes).
        var actions = (await PageAsync(created)).QuerySelectorAll("form[method=post]").Select(f => f.GetAttribute("action")).ToList();
        Assert.Contains("/admin/clients/edit/ui-made?handler=Rotate", actions);
        Assert.Contains("/admin/clients/edit/ui-made?handler=Delete", actions);
        var rotated = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit/ui-made", new() { ["OverlapDays"] = "0" }, "/admin/clients/edit/ui-made?handler=Rotate");
        var newSecret = (await PageAsync(rotated)).QuerySelector("#client-secret")!.TextContent;
        await Json.OkAsync(await Token(newSecret));
        await Json.ErrorAsync(await Token(secret), HttpStatusCode.Unauthorized, "invalid_client");

        // Unchecking "Enabled" (the hidden false is what a browser sends) disables the client at once.
        var saved = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit/ui-made", new()
        {
            ["DisplayName"] = "Made in the UI", ["Enabled"] = "false", ["GrantTypes"] = "client_credentials", ["Scopes"] = ApiScope,
        }, "/admin/clients/edit/ui-made?handler=Save");
        Assert.Equal(HttpStatusCode.Redirect, saved.StatusCode);
        await Json.ErrorAsync(await Token(newSecret), HttpStatusCode.Unauthorized, "invalid_client");

        var deleted = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit/ui-made", new(), "/admin/clients/edit/ui-made?handler=Delete");
        Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync("/admin/clients/edit/ui-made")).StatusCode);
    }

    [Fact]
    public async Task BadClientInput_ShownOnTheForm_NothingStored()
    {
        var browser = await AdminBrowserAsync();
        var r = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit", new()
        {
            ["NewClientId"] = "ui-bad", ["Confidential"] = "false", ["GrantTypes"] = "authorization_code", ["RedirectUris"] = "javascript:alert(1)",
        }, "/admin/clients/edit?handler=Save");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("script", (await PageAsync(r)).QuerySelector(".validation-summary-errors")!.TextContent);
        using var scope = factory.Services.CreateScope();
        Assert.False(await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().Set<OpenIddictEntityFrameworkCoreApplication>().AnyAsync(c => c.ClientId == "ui-bad"));
    }

    [Fact]
    public async Task ConfigurationClient_IsReadOnly_AndSavingIsRefused()
    {
        var browser = await AdminBrowserAsync();
        var page = await PageAsync(await browser.GetAsync("/admin/clients/edit/" + IdentityServerFactory.WebClient));
        Assert.Contains("declared in configuration", page.QuerySelector(".notice")!.TextContent);
        Assert.NotNull(page.QuerySelector("fieldset[disabled]"));
        var r = await AccountDriver.SubmitAsync(browser, "/admin/clients/edit/" + IdentityServerFactory.WebClient,
            new() { ["GrantTypes"] = "client_credentials" }, $"/admin/clients/edit/{IdentityServerFactory.WebClient}?handler=Save");
        Assert.Contains("stays authoritative", await r.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task UserAdministration_ThroughThePages_IsAudited()
    {
        var browser = await AdminBrowserAsync();
        var created = await AccountDriver.SubmitAsync(browser, "/admin/users",
            new() { ["NewUserName"] = "ui-user", ["NewEmail"] = "ui-user@example.test", ["NewPassword"] = "ui-user-password-1", ["NewRoles"] = "support" },
            "/admin/users?handler=Create");
        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        var detail = created.Headers.Location!.OriginalString;

        Task<HttpResponseMessage> Post(string handler, Dictionary<string, string>? form = null) =>
            AccountDriver.SubmitAsync(browser, detail, form ?? new(), $"{detail}?handler={handler}");
        await Post("Lock");
        Assert.Equal("yes", (await PageAsync(await browser.GetAsync(detail))).QuerySelector("#locked")!.TextContent);
        await Post("Unlock");
        await Post("ResetPassword", new() { ["NewPassword"] = "ui-user-password-2" });
        Assert.Equal(HttpStatusCode.Redirect, (await new OidcDriver(factory.CreateBrowser()).SubmitLoginAsync("ui-user", "ui-user-password-2")).StatusCode);
        await Post("Roles", new() { ["Roles"] = "support, auditor" });
        Assert.Equal(["auditor", "support"], await new AccountDriver(factory).WithUserAsync("ui-user", async (u, user) => (await u.GetRolesAsync(user)).Order().ToArray()));

        var search = await PageAsync(await browser.GetAsync("/admin/users?Search=ui-us"));
        Assert.Single(search.QuerySelectorAll("#user-list tr[data-user]"));

        var audit = await PageAsync(await browser.GetAsync("/admin/audit?Event=user.roles_changed"));
        Assert.NotEmpty(audit.QuerySelectorAll("#audit-list tr[data-event='user.roles_changed']"));
        Assert.Equal(HttpStatusCode.Redirect, (await Post("Delete")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await browser.GetAsync(detail)).StatusCode);
    }

    [Fact]
    public async Task DemotedAdmin_LosesTheAdminUi_AtTheNextRequest()
    {
        var a = new AccountDriver(factory);
        var name = await a.CreateUserAsync("second-admin");
        await a.WithUserAsync(name, (u, user) => u.AddToRoleAsync(user, "admin"));
        var browser = factory.CreateBrowser();
        await new OidcDriver(browser).SubmitLoginAsync(name, AccountDriver.Password);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/admin/users")).StatusCode);

        await a.WithUserAsync(name, (u, user) => u.RemoveFromRoleAsync(user, "admin"));
        var r = await browser.GetAsync("/admin/users");
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.Equal("/account/access-denied", r.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task KeysPage_ListsTheActiveKey()
    {
        var page = await PageAsync(await (await AdminBrowserAsync()).GetAsync("/admin/keys"));
        Assert.Contains("active", page.QuerySelector("#key-list")!.TextContent);
    }
}

/// <summary>A server whose admin UI requires a multi-factor sign-in (the Production default, set explicitly here).</summary>
public sealed class AdminMfaFactory : IdentityServerFactory
{
    public AdminMfaFactory() => Settings["IdentityServer:Admin:RequireMfa"] = "true";
}

/// <summary>With <c>IdentityServer:Admin:RequireMfa</c>, a password-only admin session is sent to step up.</summary>
public sealed class AdminMfaTests(AdminMfaFactory factory) : IClassFixture<AdminMfaFactory>
{
    [Fact]
    public async Task PasswordOnlyAdmin_SentToStepUp_WithTotp_GetsIn()
    {
        var a = new AccountDriver(factory);
        var browser = factory.CreateBrowser();
        await new OidcDriver(browser).SubmitLoginAsync(AdminUserName, AdminPassword);
        var r = await browser.GetAsync("/admin/users");
        Assert.Equal("/admin/mfa-required", r.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync("/admin/mfa-required")).StatusCode);

        // The API asks the same of an admin's own token.
        var passwordToken = await ApiTokenAsync(browser);
        Assert.Equal(HttpStatusCode.Forbidden, (await ApiAsync(passwordToken)).StatusCode);

        // Enrol TOTP (the admin has no factor yet), sign in with it, and the admin UI opens.
        var (key, _) = await a.EnableTotpAsync(browser);
        var mfa = factory.CreateBrowser();
        await new OidcDriver(mfa).SubmitLoginAsync(AdminUserName, AdminPassword);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(mfa, a.CodeNow(key))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await mfa.GetAsync("/admin/users")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ApiAsync(await ApiTokenAsync(mfa))).StatusCode);
    }

    private static async Task<string> ApiTokenAsync(HttpClient browser)
    {
        var d = new OidcDriver(browser);
        var verifier = OidcDriver.NewVerifier();
        var code = await d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, scope: "openid idp.admin"));
        return (await Json.OkAsync(await d.RedeemCodeAsync(code, verifier))).Str("access_token");
    }

    private Task<HttpResponseMessage> ApiAsync(string token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/admin/api/keys");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return factory.CreateClient(new() { BaseAddress = new Uri(Issuer) }).SendAsync(request);
    }
}
