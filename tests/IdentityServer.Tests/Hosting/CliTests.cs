using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using IdentityServer.Cli;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Hosting;

/// <summary>The command-line verbs against a temporary SQLite database.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _db = TestDatabase.NewName(TestDatabase.Provider);

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await CliApp.RunAsync(args, o, e,
            [$"--IdentityServer:Database:Provider={TestDatabase.Provider}", $"--IdentityServer:Database:ConnectionString={TestDatabase.ConnectionString(TestDatabase.Provider, _db)}",
             "--IdentityServer:Issuer=https://localhost", "--IdentityServer:ApiScopes:0:Name=api1", "--Logging:LogLevel:Default=Warning"]);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Migrate_CreatesSchema_ThenReportsUpToDate()
    {
        var first = await Run("migrate");
        Assert.Equal(0, first.Code);
        var migrations = TestDatabase.Provider == "Sqlite" ? typeof(IdentityServer.Migrations.Sqlite.Migrations.Initial).Assembly
            : typeof(IdentityServer.Migrations.PostgreSql.Migrations.Initial).Assembly;
        var all = migrations.GetTypes()
            .Count(t => t.GetCustomAttributes(typeof(Microsoft.EntityFrameworkCore.Migrations.MigrationAttribute), false).Length > 0);
        Assert.Contains($"Applied {all} migration", first.Out);
        using (var connection = TestDatabase.Open(TestDatabase.Provider, _db)) Assert.Contains("OpenIddictApplications", TestDatabase.Tables(connection));
        var second = await Run("migrate");
        Assert.Contains("up to date", second.Out);
    }

    [Fact]
    public async Task ClientsAdd_Confidential_PrintsSecretOnce_AndList_ShowsIt()
    {
        var add = await Run("clients", "add", "--client-id", "cli-svc", "--grant-type", "client_credentials", "--scope", "api1", "--json");
        Assert.Equal(0, add.Code);
        var created = JsonDocument.Parse(add.Out).RootElement;
        Assert.Equal(43, created.GetProperty("client_secret").GetString()!.Length);

        var list = await Run("clients", "list", "--json");
        var client = JsonDocument.Parse(list.Out).RootElement.EnumerateArray().Single();
        Assert.Equal("cli-svc", client.GetProperty("client_id").GetString());
        Assert.Equal("confidential", client.GetProperty("type").GetString());
        Assert.DoesNotContain(created.GetProperty("client_secret").GetString()!, list.Out);

        var human = await Run("clients", "list");
        Assert.Contains("cli-svc", human.Out);
        Assert.Contains("confidential", human.Out);
    }

    [Fact]
    public async Task ClientsAdd_BadInput_RefusedAndNothingStored()
    {
        var bad = await Run("clients", "add", "--client-id", "x", "--grant-type", "implicit", "--redirect-uri", "https://a.example/cb");
        Assert.Equal(2, bad.Code);
        Assert.Contains("implicit", bad.Err);
        var js = await Run("clients", "add", "--client-id", "y", "--public", "--redirect-uri", "javascript:alert(1)");
        Assert.Equal(2, js.Code);
        Assert.Contains("No clients", (await Run("clients", "list")).Out);

        Assert.Equal(0, (await Run("clients", "add", "--client-id", "dup", "--public", "--redirect-uri", "https://a.example/cb")).Code);
        var dup = await Run("clients", "add", "--client-id", "dup", "--public", "--redirect-uri", "https://a.example/cb");
        Assert.Equal(1, dup.Code);
        Assert.Contains("already exists", dup.Err);
    }

    [Fact]
    public async Task UsersAdd_EnforcesLengthPolicy_AndCreatesUser()
    {
        var weak = await Run("users", "add", "--username", "bob", "--password", "short");
        Assert.Equal(2, weak.Code);
        Assert.Contains("12", weak.Err);
        var ok = await Run("users", "add", "--username", "bob", "--email", "bob@example.test", "--password", "a long enough passphrase", "--role", "admin");
        Assert.Equal(0, ok.Code);
        Assert.Contains("Created user bob", ok.Out);
        Assert.Equal(1, (await Run("users", "add", "--username", "bob", "--password", "a long enough passphrase")).Code);
    }

    [Fact]
    public async Task UnknownVerbOption_BadUsage()
    {
        var r = await Run("clients", "add", "--no-such-option");
        Assert.NotEqual(0, r.Code);
    }

    [Fact]
    public async Task ClientsShowUpdateRotateRemove_TakeEffectOnTheRunningServer_AndAreAudited()
    {
        var created = JsonDocument.Parse((await Run("clients", "add", "--client-id", "job", "--grant-type", "client_credentials", "--scope", "api1", "--json")).Out).RootElement;
        var firstSecret = created.GetProperty("client_secret").GetString()!;

        using var server = new IdentityServerFactory { Database = _db, OwnsDatabase = false };
        var d = new OidcDriver(server.CreateBrowser());
        Task<HttpResponseMessage> TokenWith(string secret) => d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = "api1" }, "job", secret);
        await Json.OkAsync(await TokenWith(firstSecret));

        var show = JsonDocument.Parse((await Run("clients", "show", "--client-id", "job", "--json")).Out).RootElement;
        Assert.Equal("confidential", show.GetProperty("type").GetString());
        Assert.DoesNotContain(firstSecret, (await Run("clients", "show", "--client-id", "job")).Out);

        // Rotation: the new secret works at once (a secret the server's cached copy does not know makes it read the client again), and
        // the old one then fails, its overlap over (0 days: now).
        var rotated = JsonDocument.Parse((await Run("clients", "rotate-secret", "--client-id", "job", "--overlap-days", "0", "--json")).Out).RootElement;
        var newSecret = rotated.GetProperty("client_secret").GetString()!;
        await Json.OkAsync(await TokenWith(newSecret));
        await Json.ErrorAsync(await TokenWith(firstSecret), System.Net.HttpStatusCode.Unauthorized, "invalid_client");

        // Update: disabling takes effect without a restart, once the server's client cache bound has passed (IdentityServer:Cache:
        // ClientSeconds, 5 s: the command line is a process of its own, like another node).
        var update = await Run("clients", "update", "--client-id", "job", "--grant-type", "client_credentials", "--scope", "api1", "--disabled", "--json");
        Assert.Equal(0, update.Code);
        Assert.False(JsonDocument.Parse(update.Out).RootElement.GetProperty("enabled").GetBoolean());
        server.Clock.Advance(TimeSpan.FromSeconds(5));
        await Json.ErrorAsync(await TokenWith(newSecret), System.Net.HttpStatusCode.Unauthorized, "invalid_client");
        Assert.Equal(2, (await Run("clients", "update", "--client-id", "job", "--grant-type", "implicit")).Code);

        Assert.Equal(0, (await Run("clients", "remove", "--client-id", "job")).Code);
        var gone = await Run("clients", "show", "--client-id", "job");
        Assert.Equal(1, gone.Code);
        Assert.Contains("No client", gone.Err);
        Assert.Equal(1, (await Run("clients", "remove", "--client-id", "job")).Code);

        var audit = await AuditAsync(server);
        Assert.Equal(["client.created", "client.secret_rotated", "client.updated", "client.deleted"],
            audit.Where(a => a.SubjectId == "job").Select(a => a.Event).ToArray());
        Assert.All(audit.Where(a => a.SubjectId == "job"), a => Assert.Equal("cli", a.ActorType));
        Assert.DoesNotContain(audit, a => $"{a.Before}{a.After}{a.Reason}".Contains(firstSecret) || $"{a.Before}{a.After}{a.Reason}".Contains(newSecret));
    }

    [Fact]
    public async Task UsersListLockUnlockResetRemove_TakeEffect_AndAreAudited()
    {
        Assert.Equal(0, (await Run("users", "add", "--username", "carol", "--email", "carol@example.test", "--password", "carol first password")).Code);
        Assert.Equal(0, (await Run("users", "add", "--username", "dave", "--password", "dave first password")).Code);
        var list = JsonDocument.Parse((await Run("users", "list", "--search", "car", "--json")).Out).RootElement;
        Assert.Equal("carol", list.EnumerateArray().Single().GetProperty("user_name").GetString());
        Assert.Contains("dave", (await Run("users", "list")).Out);

        using var server = new IdentityServerFactory { Database = _db, OwnsDatabase = false };
        async Task<HttpStatusCode> SignIn(string password) =>
            (await new OidcDriver(server.CreateBrowser()).SubmitLoginAsync("carol", password)).StatusCode;
        Assert.Equal(HttpStatusCode.Redirect, await SignIn("carol first password"));

        var locked = JsonDocument.Parse((await Run("users", "lock", "--username", "carol", "--json")).Out).RootElement;
        Assert.True(locked.GetProperty("locked_out").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, await SignIn("carol first password")); // the form again: refused
        Assert.Equal(0, (await Run("users", "unlock", "--username", "carol")).Code);
        Assert.Equal(HttpStatusCode.Redirect, await SignIn("carol first password"));

        Assert.Equal(2, (await Run("users", "reset-password", "--username", "carol", "--password", "short")).Code);
        Assert.Equal(0, (await Run("users", "reset-password", "--username", "carol", "--password", "carol second password")).Code);
        Assert.Equal(HttpStatusCode.OK, await SignIn("carol first password"));
        Assert.Equal(HttpStatusCode.Redirect, await SignIn("carol second password"));

        Assert.Equal(0, (await Run("users", "remove", "--username", "carol")).Code);
        Assert.Equal(1, (await Run("users", "lock", "--username", "carol")).Code);
        Assert.DoesNotContain("carol", (await Run("users", "list")).Out);

        var audit = await AuditAsync(server);
        var carolEvents = audit.Where(a => a.Event.StartsWith("user.") && (a.After ?? a.Before ?? "").Contains("\"carol\"")).Select(a => a.Event).ToArray();
        Assert.Equal(["user.created", "user.locked", "user.unlocked", "user.password_reset", "user.deleted"], carolEvents);
        Assert.DoesNotContain(audit, a => $"{a.Before}{a.After}{a.Reason}".Contains("second password"));
    }

    [Fact]
    public async Task KeysList_ShowsTheActiveKey()
    {
        Assert.Contains("No signing keys", (await Run("keys", "list")).Out);
        using (var server = new IdentityServerFactory { Database = _db, OwnsDatabase = false }) server.CreateBrowser();
        var keys = JsonDocument.Parse((await Run("keys", "list", "--json")).Out).RootElement.EnumerateArray().ToList();
        var key = Assert.Single(keys);
        Assert.Equal("active", key.GetProperty("state").GetString());
        Assert.Equal("RS256", key.GetProperty("alg").GetString());
        Assert.Contains("active", (await Run("keys", "list")).Out);

        // A forced rotation after a leak: the new key signs at once, the old one is withdrawn.
        var rotated = JsonDocument.Parse((await Run("keys", "rotate", "--now", "--json")).Out).RootElement.GetProperty("kids").EnumerateArray().Single().GetString();
        var after = JsonDocument.Parse((await Run("keys", "list", "--json")).Out).RootElement.EnumerateArray().ToList();
        Assert.Equal(2, after.Count);
        Assert.Equal("active", after.Single(k => k.GetProperty("kid").GetString() == rotated).GetProperty("state").GetString());
        Assert.Equal("withdrawn", after.Single(k => k.GetProperty("kid").GetString() != rotated).GetProperty("state").GetString());
        using var reader = new IdentityServerFactory { Database = _db, OwnsDatabase = false };
        var audit = Assert.Single(await AuditAsync(reader), a => a.Event == "key.rotated");
        Assert.Equal("cli", audit.ActorType);
        Assert.Equal(rotated, audit.SubjectId);
    }

    private static async Task<List<IdentityServer.Data.Entities.AuditEventEntity>> AuditAsync(IdentityServerFactory server)
    {
        using var scope = server.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IdentityServer.Data.IdentityServerDbContext>().AuditEvents.AsNoTracking().OrderBy(a => a.Id).ToListAsync();
    }

    public void Dispose() => TestDatabase.Delete(TestDatabase.Provider, _db);
}
