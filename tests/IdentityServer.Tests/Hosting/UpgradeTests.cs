using System.Net;
using System.Text.Json;
using IdentityServer.Cli;
using IdentityServer.Data;
using IdentityServer.Protocol.Clients;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Hosting;

/// <summary>
/// Upgrading a database made by the previous release (the hand-written protocol engine; tests/fixtures/upgrade-from-stop8, made by
/// make-fixture.sh with that release) loses nothing it promised to keep: users with their passwords, TOTP, recovery codes and
/// passkeys; clients with their secrets (a rotated one within its overlap too) and settings; consents; signing keys, so tokens issued
/// before still validate and signing goes on with the same key; the audit log. Outstanding refresh tokens and device codes are dropped,
/// as the README's upgrade notes say. The server's clock is set five minutes after the fixture was made.
/// </summary>
public sealed class UpgradeTests : IDisposable
{
    private static readonly string FixtureDirectory = Path.Combine(RepositoryRoot(), "tests", "fixtures", "upgrade-from-stop8");
    private readonly string _db = Path.Combine(Path.GetTempPath(), $"idsrv-upgrade-{Guid.NewGuid():N}.db");
    private readonly JsonElement _facts;
    private readonly DateTimeOffset _madeAt;

    public UpgradeTests()
    {
        File.Copy(Path.Combine(FixtureDirectory, "identityserver.db"), _db);
        _facts = JsonDocument.Parse(File.ReadAllText(Path.Combine(FixtureDirectory, "facts.json"))).RootElement.Clone();
        _madeAt = _facts.GetProperty("madeAt").GetDateTimeOffset();
    }

    public void Dispose() => DeleteDatabase(_db);

    private static string RepositoryRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "IdentityServer.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        return root;
    }

    private IdentityServerFactory Server() => new()
    {
        Provider = "Sqlite", // the previous release's database is SQLite
        Database = _db,
        OwnsDatabase = false, // Dispose deletes it, after every server of the test
        Clock = new MutableTimeProvider(_madeAt.AddMinutes(5) - DateTimeOffset.UtcNow),
    };

    private string Fact(string path)
    {
        var e = _facts;
        foreach (var part in path.Split('.')) e = e.GetProperty(part);
        return e.GetString()!;
    }

    private static Task<HttpResponseMessage> ClientCredentialsAsync(IdentityServerFactory f, string clientId, string secret) =>
        new OidcDriver(f.CreateBrowser()).TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = ApiScope }, clientId, secret);

    [Fact]
    public async Task MigrateCommand_UpgradesThePreviousReleasesDatabase_AndNothingItPromisedIsLost()
    {
        var output = new StringWriter();
        var code = await CliApp.RunAsync(["migrate"], output, new StringWriter(),
            [$"--IdentityServer:Database:ConnectionString=Data Source={_db}", $"--IdentityServer:Issuer={Issuer}", $"--IdentityServer:ApiScopes:0:Name={ApiScope}",
             "--Logging:LogLevel:Default=Warning"]);
        Assert.Equal(0, code);
        Assert.Contains("MoveToOpenIddict", output.ToString());
        Assert.Contains("DropLegacyProtocolTables", output.ToString());

        using var f = Server();
        using (var scope = f.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
            Assert.Empty(await db.Database.GetPendingMigrationsAsync());
            var tables = await db.Database.SqlQueryRaw<string>("SELECT name AS Value FROM sqlite_master WHERE type = 'table'").ToListAsync();
            Assert.DoesNotContain("Clients", tables);
            Assert.DoesNotContain("Grants", tables);
            Assert.Contains("OpenIddictApplications", tables);

            // The audit log: every event of the previous release is still there.
            Assert.Equal(_facts.GetProperty("auditEvents").GetInt32(), await db.AuditEvents.CountAsync(e => e.At <= _madeAt));

            // A client made through the admin API keeps every setting.
            var spa = await scope.ServiceProvider.GetRequiredService<ClientApplicationManager>().FindProfileAsync("legacy-spa");
            Assert.NotNull(spa);
            Assert.False(spa.Confidential);
            Assert.Equal("Legacy SPA", spa.DisplayName);
            Assert.Equal(["https://spa.legacy.example/cb"], spa.RedirectUris);
            Assert.Equal(["https://spa.legacy.example/"], spa.PostLogoutRedirectUris);
            Assert.Equal(["authorization_code", "refresh_token"], spa.GrantTypes.Order());
            Assert.Equal(["api1", "offline_access", "openid", "profile"], spa.Scopes.Order());
            Assert.True(spa.RequireConsent);
            Assert.True(spa.RequireMfa);
            Assert.Equal("https://spa.legacy.example/bcl", spa.BackChannelLogoutUri);
            Assert.Equal(600, spa.AccessTokenLifetimeSeconds);
            Assert.Equal(86400, spa.RefreshTokenLifetimeSeconds);
            Assert.Equal(ClientSources.Admin, spa.Source);
        }

        // Signing keys: the JWKS still has the active key and its published successor; a token from before validates, and new tokens
        // are signed by the same key (its private half was protected by the Data Protection key ring, which came along).
        var jwks = await Tokens.JwksAsync(f.CreateBrowser());
        Assert.Equal(_facts.GetProperty("signingKeys").EnumerateArray().Select(k => k.GetString()!).Order(), jwks.Keys.Select(k => k.KeyId).Order());
        await Tokens.ValidateAsync(Fact("legacyOpsAccessToken"), jwks, "at+jwt");
        var previousKid = new JsonWebToken(Fact("aliceAccessToken")).Kid;

        // Client secrets: the current one and, within the seven-day overlap, the rotated one; a disabled client stays disabled.
        var issued = await Json.OkAsync(await ClientCredentialsAsync(f, Fact("legacyOps.clientId"), Fact("legacyOps.secondSecret")));
        Assert.Equal(previousKid, new JsonWebToken(issued.Str("access_token")).Kid);
        Assert.Equal(900, issued.GetProperty("expires_in").GetInt32()); // the client's own access token lifetime
        await Json.OkAsync(await ClientCredentialsAsync(f, Fact("legacyOps.clientId"), Fact("legacyOps.firstSecret")));
        await Json.ErrorAsync(await ClientCredentialsAsync(f, Fact("legacyDisabled.clientId"), Fact("legacyDisabled.secret")), HttpStatusCode.Unauthorized, "invalid_client");

        // A user's access token from before still works at userinfo; the refresh token from before was dropped.
        var d = new OidcDriver(f.CreateBrowser());
        var userInfo = await Json.OkAsync(await d.UserInfoAsync(Fact("aliceAccessToken")));
        Assert.Equal(new JsonWebToken(Fact("aliceAccessToken")).Subject, userInfo.Str("sub"));
        await Json.ErrorAsync(await d.RefreshAsync(Fact("aliceRefreshToken")), HttpStatusCode.BadRequest, "invalid_grant");

        // Access tokens revoked before the upgrade, alone or with their grant, stay refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await d.UserInfoAsync(Fact("revokedGrantAccessToken"))).StatusCode);
        var introspected = await f.CreateBrowser().PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = Fact("revokedAccessToken"), ["client_id"] = Fact("legacyOps.clientId"), ["client_secret"] = Fact("legacyOps.secondSecret"),
        }));
        Assert.False((await Json.OkAsync(introspected)).GetProperty("active").GetBoolean());
        introspected = await f.CreateBrowser().PostAsync("/connect/introspect", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["token"] = Fact("legacyOpsAccessToken"), ["client_id"] = Fact("legacyOps.clientId"), ["client_secret"] = Fact("legacyOps.secondSecret"),
        }));
        Assert.True((await Json.OkAsync(introspected)).GetProperty("active").GetBoolean());
        await Json.ErrorAsync(await new DeviceDriver(f).PollAsync(Fact("pendingDeviceCode")), HttpStatusCode.BadRequest, "invalid_grant");

        // Remembered consent: alice is not asked again for what she allowed; asked for more, she is.
        await d.LoginAsync();
        var consented = OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile api1");
        var r = await d.AuthorizeAsync(consented);
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.StartsWith(WebRedirect + "?", r.Headers.Location!.OriginalString);
        Assert.Contains("code", OidcDriver.RedirectQuery(r).Keys);
        var more = await d.AuthorizeAsync(OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier(), ConsentClient, scope: "openid profile email api1"));
        Assert.StartsWith("/consent", more.Headers.Location!.OriginalString);

        // A TOTP user: password, then a code from the same authenticator key; recovery codes still work once, a used one does not.
        var a = new AccountDriver(f);
        var totpUser = Fact("totpUser.userName");
        var browser = await a.PasswordStepAsync(totpUser, expectSecondStep: true);
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(browser, a.CodeNow(Fact("totpUser.key")))).StatusCode);
        var recovery = _facts.GetProperty("totpUser").GetProperty("recoveryCodes")[0].GetString()!;
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(await a.PasswordStepAsync(totpUser, expectSecondStep: true), recovery, recovery: true)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await AccountDriver.SecondStepAsync(await a.PasswordStepAsync(totpUser, expectSecondStep: true), Fact("totpUser.usedRecoveryCode"), recovery: true)).StatusCode);

        // A passkey user: the credential registered with the previous release signs in.
        var passkey = _facts.GetProperty("passkeyUser");
        var authenticator = SoftwareAuthenticator.Restore("localhost", Base64UrlEncoder.DecodeBytes(passkey.Str("credentialId")), passkey.Str("userHandle"),
            Convert.FromBase64String(passkey.Str("privateKeyPkcs8")), (uint)passkey.GetProperty("signCount").GetInt32() + 1);
        var passkeyBrowser = new CookieJarBrowser(f);
        var signedIn = await passkeyBrowser.PasskeySignInAsync(authenticator);
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        var account = await passkeyBrowser.GetAsync("/account");
        Assert.Contains(passkey.Str("userName"), await account.Content.ReadAsStringAsync());

        // After the overlap the rotated secret stops working; the current one goes on.
        f.Clock.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        await Json.ErrorAsync(await ClientCredentialsAsync(f, Fact("legacyOps.clientId"), Fact("legacyOps.firstSecret")), HttpStatusCode.Unauthorized, "invalid_client");
        await Json.OkAsync(await ClientCredentialsAsync(f, Fact("legacyOps.clientId"), Fact("legacyOps.secondSecret")));
    }

    [Fact]
    public async Task StartUp_UpgradesThePreviousReleasesDatabaseToo_AndASecondNodeChangesNothing()
    {
        using (var f = Server())
        {
            await Json.OkAsync(await ClientCredentialsAsync(f, Fact("legacyOps.clientId"), Fact("legacyOps.secondSecret")));
            var browser = await new AccountDriver(f).PasswordStepAsync(Fact("passkeyUser.userName"), expectSecondStep: false);
            Assert.NotNull(browser);
        }
        // Another node starting on the upgraded database: nothing is carried over twice.
        using var second = Server();
        using var scope = second.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        Assert.Equal(3, await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>().CountAsync(a => a.ClientId!.StartsWith("legacy-")));
        Assert.Equal(1, await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization>().CountAsync(a => a.Type == "permanent"));
    }
}
