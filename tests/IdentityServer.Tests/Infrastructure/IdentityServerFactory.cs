using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// The real server in-process (WebApplicationFactory) on its own SQLite file, with the test clients, API scope
/// and user below, an https issuer (so <c>__Host-</c> cookies are used) and a controllable clock.
/// </summary>
public class IdentityServerFactory : WebApplicationFactory<Program>
{
    public const string Issuer = "https://localhost";
    public const string WebClient = "web";
    public const string WebSecret = "web-secret-0123456789-0123456789-0123456789";
    public const string WebRedirect = "https://app.example/callback";
    public const string WebPostLogout = "https://app.example/signed-out";
    public const string LoopbackRedirect = "http://127.0.0.1/cb";
    public const string ConsentClient = "consent-web";
    public const string OtherClient = "other";
    public const string OtherSecret = "other-secret-0123456789-0123456789-0123456789";
    public const string PublicClient = "spa";
    public const string PublicRedirect = "https://spa.example/cb";
    public const string ServiceClient = "service";
    public const string ServiceSecret = "service-secret-0123456789-0123456789-012345";
    public const string DeviceClient = "device-cli";
    public const string DeviceTvClient = "device-tv";
    public const string DeviceTvSecret = "device-tv-secret-0123456789-0123456789-01234";
    public const string MfaClient = "mfa-web";
    public const string MfaDeviceClient = "device-mfa";
    public const string AdminClient = "admin-automation";
    public const string AdminSecret = "admin-automation-secret-0123456789-0123456789";
    public const string AdminUserName = "root";
    public const string AdminPassword = "root-password-1234";
    public const string ApiScope = "api1";
    public const string ApiAudience = "https://api.example";
    public const string UserName = "alice";
    public const string UserEmail = "alice@example.test";
    public const string Password = "alice-password-1234";

    /// <summary>The database provider: the run's (<see cref="TestDatabase.Provider"/>) unless set (the upgrade fixture is SQLite).</summary>
    public string Provider { get; init; } = TestDatabase.Provider;

    /// <summary>
    /// The database: a SQLite file path or a PostgreSQL database name, new for each factory unless set (restart and multi-node tests
    /// share one).
    /// </summary>
    public string Database { get => _database ??= TestDatabase.NewName(Provider); init => _database = value; }
    private string? _database;

    /// <summary>False keeps the database when the factory is disposed.</summary>
    public bool OwnsDatabase { get; init; } = true;
    /// <summary>The server's clock (a derived factory may start it elsewhere than now).</summary>
    public MutableTimeProvider Clock { get; init; } = new();

    /// <summary>Every log entry the server writes at the configured level (Warning and above unless <see cref="Settings"/> says otherwise).</summary>
    public LogCollector Logs { get; } = new();

    /// <summary>The database's connection string when it is not on the run's server (a test's own cluster); else made from <see cref="Database"/>.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Extra configuration for a derived factory (flattened keys, e.g. <c>IdentityServer:Issuer</c>).</summary>
    public Dictionary<string, string?> Settings { get; } = new();

    /// <summary>Service replacements for fault-injection tests; runs after the server's own registrations.</summary>
    public Action<IServiceCollection>? ConfigureTestServices { get; init; }

    /// <summary>The ASP.NET environment name (default <c>Testing</c>, which loads no appsettings.{env}.json).</summary>
    public string EnvironmentName { get; init; } = "Testing";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        foreach (var (k, v) in DefaultSettings().Concat(Settings)) builder.UseSetting(k, v);
        builder.ConfigureServices(s =>
        {
            s.AddSingleton<TimeProvider>(Clock);
            s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs);
            ConfigureTestServices?.Invoke(s);
        });
    }

    private IEnumerable<KeyValuePair<string, string?>> DefaultSettings()
    {
        var d = new Dictionary<string, string?>
        {
            ["IdentityServer:Issuer"] = Issuer,
            ["IdentityServer:Database:Provider"] = Provider,
            ["IdentityServer:Database:ConnectionString"] = ConnectionString ?? TestDatabase.ConnectionString(Provider, Database),
            ["IdentityServer:ApiScopes:0:Name"] = ApiScope,
            ["IdentityServer:ApiScopes:0:DisplayName"] = "Test API",
            ["IdentityServer:ApiScopes:0:Audience"] = ApiAudience,
            ["IdentityServer:Users:0:UserName"] = UserName,
            ["IdentityServer:Users:0:Email"] = UserEmail,
            ["IdentityServer:Users:0:Password"] = Password,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        AddClient(d, 0, WebClient, WebSecret, [WebRedirect, LoopbackRedirect], ["authorization_code", "refresh_token"], ["openid", "profile", "email", "offline_access", ApiScope, "idp.admin"], false);
        AddClient(d, 1, ConsentClient, WebSecret, [WebRedirect], ["authorization_code"], ["openid", "profile", "email", ApiScope], true);
        AddClient(d, 2, OtherClient, OtherSecret, [WebRedirect], ["authorization_code"], ["openid", "profile"], false);
        AddClient(d, 3, PublicClient, null, [PublicRedirect], ["authorization_code", "refresh_token"], ["openid", "profile", "offline_access"], false);
        AddClient(d, 4, ServiceClient, ServiceSecret, [], ["client_credentials"], [ApiScope], false);
        d["IdentityServer:Clients:0:PostLogoutRedirectUris:0"] = WebPostLogout;
        AddClient(d, 5, DeviceClient, null, [], ["urn:ietf:params:oauth:grant-type:device_code", "refresh_token"], ["openid", "profile", "offline_access", ApiScope], false);
        AddClient(d, 7, MfaClient, WebSecret, [WebRedirect], ["authorization_code"], ["openid", "profile"], false);
        d["IdentityServer:Clients:7:RequireMfa"] = "true";
        AddClient(d, 9, AdminClient, AdminSecret, [], ["client_credentials"], ["idp.admin"], false);
        d["IdentityServer:Users:1:UserName"] = AdminUserName;
        d["IdentityServer:Users:1:Password"] = AdminPassword;
        d["IdentityServer:Users:1:Roles:0"] = "admin";
        AddClient(d, 8, MfaDeviceClient, null, [], ["urn:ietf:params:oauth:grant-type:device_code"], ["openid"], false);
        d["IdentityServer:Clients:8:RequireMfa"] = "true";
        AddClient(d, 6, DeviceTvClient, DeviceTvSecret, [], ["urn:ietf:params:oauth:grant-type:device_code"], ["openid", "profile"], false);
        return d;
    }

    private static void AddClient(Dictionary<string, string?> d, int i, string id, string? secret, string[] redirects, string[] grants, string[] scopes, bool consent)
    {
        var p = $"IdentityServer:Clients:{i}:";
        d[p + "ClientId"] = id;
        d[p + "DisplayName"] = $"Test {id}";
        if (secret is not null) d[p + "ClientSecret"] = secret;
        for (var j = 0; j < redirects.Length; j++) d[p + $"RedirectUris:{j}"] = redirects[j];
        for (var j = 0; j < grants.Length; j++) d[p + $"GrantTypes:{j}"] = grants[j];
        for (var j = 0; j < scopes.Length; j++) d[p + $"Scopes:{j}"] = scopes[j];
        d[p + "RequireConsent"] = consent ? "true" : "false";
    }

    /// <summary>A client that keeps cookies, does not follow redirects, and talks to <see cref="Issuer"/>.</summary>
    public HttpClient CreateBrowser() =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, BaseAddress = new Uri(Issuer), HandleCookies = true });

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing && OwnsDatabase) TestDatabase.Delete(Provider, Database);
    }

    /// <summary>Deletes a SQLite file and its WAL companions.</summary>
    public static void DeleteDatabase(string path) => TestDatabase.Delete("Sqlite", path);
}
