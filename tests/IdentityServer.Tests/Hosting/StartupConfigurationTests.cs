using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Hosting;

/// <summary>Start-up refuses unsafe configuration with a message naming the key; the model matches its migrations.</summary>
public sealed class StartupConfigurationTests
{
    [Theory]
    [InlineData("Production")]
    [InlineData("Staging")]
    public void HttpIssuer_NonLoopback_OutsideDevelopment_RefusedAtStartup(string environment)
    {
        using var factory = new IdentityServerFactory { EnvironmentName = environment };
        factory.Settings["IdentityServer:Issuer"] = "http://idp.example.com";
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateBrowser());
        Assert.Contains("IdentityServer:Issuer", ex.Message);
        Assert.Contains("https", ex.Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://localhost:5000")]
    public async Task ProductionHttpIssuer_Loopback_Allowed(string issuer)
    {
        using var factory = new IdentityServerFactory { EnvironmentName = "Production" };
        factory.Settings["IdentityServer:Issuer"] = issuer;
        var json = await Json.OkAsync(await factory.CreateClient().GetAsync("/.well-known/openid-configuration"));
        Assert.Equal(issuer, json.Str("issuer"));
    }

    [Theory]
    [InlineData("IdentityServer:Issuer", "https://localhost/idp", "path")]
    [InlineData("IdentityServer:Lifetimes:AuthorizationCodeSeconds", "120", "AuthorizationCodeSeconds")]
    [InlineData("IdentityServer:Clients:0:RedirectUris:0", "javascript:alert(1)", "javascript")]
    [InlineData("IdentityServer:DeviceFlow:PollingIntervalSeconds", "0", "PollingIntervalSeconds")]
    [InlineData("IdentityServer:Lifetimes:AccessTokenSeconds", "259200", "RetiredPublishedDays")]
    [InlineData("IdentityServer:Keys:Algorithms:0", "HS256", "HS256")]
    [InlineData("IdentityServer:Passkeys:ServerDomain", "example.com", "must be the host of")]
    [InlineData("IdentityServer:Passkeys:AllowedOrigins:0", "https://localhost/login", "not an http(s) origin")]
    [InlineData("IdentityServer:Passkeys:AllowedOrigins:0", "https://127.0.0.1", "IP address")]
    [InlineData("IdentityServer:DeviceFlow:DeviceCodeLifetimeSeconds", "86400", "DeviceCodeLifetimeSeconds")]
    [InlineData("IdentityServer:DeviceFlow:UserCodeAttemptsPerAddress", "0", "attempt limits")]
    public void UnsafeSetting_RefusedAtStartup_NamingTheKey(string key, string value, string expected)
    {
        using var factory = new IdentityServerFactory();
        factory.Settings[key] = value;
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateBrowser());
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void UnknownGrantTypeInConfiguration_RefusedAtStartup()
    {
        using var factory = new IdentityServerFactory();
        factory.Settings["IdentityServer:Clients:0:GrantTypes:0"] = "implicit";
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateBrowser());
        Assert.Contains("implicit", ex.Message);
    }

    [Fact]
    public void ShortClientSecretInConfiguration_RefusedAtStartup()
    {
        using var factory = new IdentityServerFactory();
        factory.Settings["IdentityServer:Clients:4:ClientSecret"] = new string('x', 42);
        var ex = Assert.ThrowsAny<OptionsValidationException>(() => factory.CreateBrowser());
        Assert.Contains("ClientSecret", ex.Message);
    }

    [Theory]
    [InlineData("appsettings.sample.json", "Production")]
    [InlineData("src/IdentityServer/appsettings.json", "Production")]
    [InlineData("src/IdentityServer/appsettings.Development.json", "Development")]
    public void ShippedSettingsFiles_PassValidation(string file, string environment)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "IdentityServer.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        var options = new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddJsonFile(Path.Combine(root, file)).Build()
            .GetSection(IdentityServer.Options.IdentityServerOptions.SectionName).Get<IdentityServer.Options.IdentityServerOptions>()
            ?? new IdentityServer.Options.IdentityServerOptions();
        var environmentInfo = new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = environment };
        var result = new IdentityServer.Hosting.IdentityServerOptionsValidator(environmentInfo).Validate(null, options);
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    [Fact]
    public void Model_HasNoChangesMissingFromMigrations()
    {
        using var factory = new IdentityServerFactory();
        factory.CreateBrowser();
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        Assert.False(db.Database.HasPendingModelChanges(), "the EF model changed: add a migration with tools/IdentityServer.MigrationTool");
        Assert.Empty(db.Database.GetPendingMigrations());
        Assert.Contains("AspNetUserPasskeys", db.Model.GetEntityTypes().Select(t => t.GetTableName()));
    }

    [Fact]
    public async Task SecretsAreStoredOnlyAsHashes()
    {
        using var factory = new IdentityServerFactory();
        var d = new OidcDriver(factory.CreateBrowser());
        var tokens = await d.SignInAndGetTokensAsync();
        using var scope = factory.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var refresh = tokens.Str("refresh_token");
        // A reference token's row is found by the SHA-256 of the token (OpenIddict's reference identifiers); the token is nowhere.
        var refreshHash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(refresh)));
        var rows = db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken>();
        Assert.False(await rows.AnyAsync(t => t.ReferenceId == refresh));
        var row = await rows.SingleAsync(t => t.ReferenceId == refreshHash);
        Assert.EndsWith("refresh_token", row.Type);
        // A client secret is stored as its SHA-256, inside a JSON list of the client's secrets.
        var stored = await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>()
            .Where(a => a.ClientId == IdentityServerFactory.WebClient).Select(a => a.ClientSecret).SingleAsync();
        Assert.Contains(Base64UrlEncoder.Encode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(IdentityServerFactory.WebSecret))), stored);
        Assert.DoesNotContain(IdentityServerFactory.WebSecret, stored);
        var raw = await File.ReadAllBytesAsync(factory.DatabasePath);
        Assert.DoesNotContain(IdentityServerFactory.WebSecret, System.Text.Encoding.UTF8.GetString(raw));
        Assert.DoesNotContain(refresh, System.Text.Encoding.UTF8.GetString(raw));
    }
}
