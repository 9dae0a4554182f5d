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
    public async Task HttpIssuer_NonLoopback_OutsideDevelopment_RefusedAtStartup(string environment)
    {
        var errors = await RefusedAtStartupAsync(new() { ["ASPNETCORE_ENVIRONMENT"] = environment, ["IdentityServer__Issuer"] = "http://idp.example.com" });
        Assert.Contains("IdentityServer:Issuer", errors);
        Assert.Contains("https", errors);
    }

    /// <summary>
    /// Starts the real server process with <paramref name="settings"/> (environment variables) and asserts it refuses to start with exit
    /// code 2; returns its configuration error lines.
    /// </summary>
    public static async Task<string> RefusedAtStartupAsync(Dictionary<string, string?> settings)
    {
        var (code, output) = await ServerProcess.RunToExitAsync(settings);
        Assert.True(code == 2, $"exit code {code}:\n{output}");
        var errors = output.Split('\n', StringSplitOptions.TrimEntries).Where(l => l.StartsWith("Configuration error: ", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(errors);
        return string.Join("\n", errors);
    }

    /// <summary>A configuration key as an environment variable name (<c>IdentityServer:Issuer</c> → <c>IdentityServer__Issuer</c>).</summary>
    public static string Env(string key) => key.Replace(":", "__", StringComparison.Ordinal);

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
    public async Task UnsafeSetting_RefusedAtStartup_NamingTheKey(string key, string value, string expected) =>
        Assert.Contains(expected, await RefusedAtStartupAsync(new() { [Env(key)] = value }));

    [Fact]
    public async Task UnknownGrantTypeInConfiguration_RefusedAtStartup() =>
        Assert.Contains("implicit", await RefusedAtStartupAsync(new() { ["IdentityServer__Clients__0__GrantTypes__0"] = "implicit" }));

    [Fact]
    public async Task ShortClientSecretInConfiguration_RefusedAtStartup() =>
        Assert.Contains("ClientSecret", await RefusedAtStartupAsync(new() { ["IdentityServer__Clients__0__ClientSecret"] = new string('x', 42) }));

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

    /// <summary>
    /// The model matches the last migration of both providers in every run (start-up no longer runs EF's migrator, and with it EF's own
    /// check, when nothing is pending). No database is opened: the model is compared with each migrations assembly's snapshot.
    /// </summary>
    [Theory]
    [InlineData(DatabaseSetup.Sqlite)]
    [InlineData(DatabaseSetup.PostgreSql)]
    public void Model_MatchesTheMigrationsOfBothProviders(string provider)
    {
        // Identity reads its schema version (passkeys) from the application's services, as in the host.
        using var appServices = new ServiceCollection()
            .Configure<Microsoft.AspNetCore.Identity.IdentityOptions>(o => o.Stores.SchemaVersion = Microsoft.AspNetCore.Identity.IdentitySchemaVersions.Version3)
            .BuildServiceProvider();
        var builder = new DbContextOptionsBuilder<IdentityServerDbContext>().UseApplicationServiceProvider(appServices);
        if (provider == DatabaseSetup.Sqlite) builder.UseSqlite("Data Source=:memory:", b => b.MigrationsAssembly(DatabaseSetup.SqliteMigrationsAssembly));
        else builder.UseNpgsql("Host=unused.invalid", b => b.MigrationsAssembly(DatabaseSetup.PostgreSqlMigrationsAssembly));
        using var db = new IdentityServerDbContext(builder.Options);
        Assert.Contains("AspNetUserPasskeys", db.Model.GetEntityTypes().Select(t => t.GetTableName()));
        Assert.False(db.Database.HasPendingModelChanges(), $"the EF model changed: add a {provider} migration with tools/IdentityServer.MigrationTool");
    }

    /// <summary>
    /// A start on an up-to-date database runs no EF migrator (so it takes no migration lock); the first start, which made the schema,
    /// did. EF's migrator logs "Migrating using database …" (debug) each time it runs, on every provider.
    /// </summary>
    [Fact]
    public void RestartOnUpToDateDatabase_RunsNoMigrator()
    {
        const string category = "Microsoft.EntityFrameworkCore.Migrations";
        static bool RanMigrator(IdentityServerFactory f) =>
            f.Logs.Entries.Any(e => e.Category == category && e.Message.StartsWith("Migrating using database", StringComparison.Ordinal));
        using var first = new IdentityServerFactory();
        first.Settings["Logging:LogLevel:" + category] = "Debug";
        _ = first.Services;
        Assert.True(RanMigrator(first));

        using var second = new IdentityServerFactory { Database = first.Database, OwnsDatabase = false };
        second.Settings["Logging:LogLevel:" + category] = "Debug";
        _ = second.Services;
        Assert.False(RanMigrator(second));
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
        var raw = TestDatabase.Dump(factory.Provider, factory.Database);
        Assert.DoesNotContain(IdentityServerFactory.WebSecret, raw);
        Assert.DoesNotContain(refresh, raw);
    }
}
