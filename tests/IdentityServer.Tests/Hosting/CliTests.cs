using System.Text.Json;
using IdentityServer.Cli;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Hosting;

/// <summary>The command-line verbs against a temporary SQLite database.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _db = Path.Combine(Path.GetTempPath(), $"idsrv-cli-{Guid.NewGuid():N}.db");

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = await CliApp.RunAsync(args, o, e,
            [$"--IdentityServer:Database:ConnectionString=Data Source={_db}", "--IdentityServer:Issuer=https://localhost", "--Logging:LogLevel:Default=Warning"]);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Migrate_CreatesSchema_ThenReportsUpToDate()
    {
        var first = await Run("migrate");
        Assert.Equal(0, first.Code);
        var all = typeof(IdentityServer.Migrations.Sqlite.Migrations.Initial).Assembly.GetTypes()
            .Count(t => t.GetCustomAttributes(typeof(Microsoft.EntityFrameworkCore.Migrations.MigrationAttribute), false).Length > 0);
        Assert.Contains($"Applied {all} migration", first.Out);
        Assert.True(File.Exists(_db));
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
        Assert.Equal(1, weak.Code);
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

    public void Dispose() => IdentityServerFactory.DeleteDatabase(_db);
}
