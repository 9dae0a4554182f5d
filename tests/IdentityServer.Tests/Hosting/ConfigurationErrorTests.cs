using IdentityServer.Cli;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Hosting;

/// <summary>
/// A configuration error ends the real server process with exit code 2 and one line per error naming the setting: no stack trace,
/// whether it is found by option validation, while loading a file, or in the database settings; the commands do the same.
/// </summary>
public sealed class ConfigurationErrorTests
{
    [Theory]
    [InlineData("IdentityServer__ApiScopes__0__Name", "openid", "IdentityServer:ApiScopes has an invalid or reserved name 'openid'.")]
    [InlineData("IdentityServer__Lifetimes__AuthorizationCodeSeconds", "600", "AuthorizationCodeSeconds")]
    [InlineData("IdentityServer__DataProtection__CertificatePath", "/nonexistent/key.pfx", "IdentityServer:DataProtection:CertificatePath '/nonexistent/key.pfx' cannot be loaded")]
    [InlineData("IdentityServer__Database__Provider", "Oracle", "IdentityServer:Database:Provider is not supported")]
    public async Task Server_BadSetting_ExitCode2_OneLineNamingIt(string key, string value, string expected)
    {
        var (code, output) = await ServerProcess.RunToExitAsync(new Dictionary<string, string?> { [key] = value });
        Assert.Equal(2, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var error = Assert.Single(lines, l => l.StartsWith("Configuration error: ", StringComparison.Ordinal));
        Assert.Contains(expected, error);
        Assert.DoesNotContain(lines, l => l.StartsWith("at ", StringComparison.Ordinal) || l.Contains("Exception", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Command_BadSetting_ExitCode2_OneLine()
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await CliApp.RunAsync(["migrate"], output, error,
            [$"--IdentityServer:Database:ConnectionString=Data Source={Path.Combine(Path.GetTempPath(), $"idsrv-cfg-{Guid.NewGuid():N}.db")}",
             "--IdentityServer:ApiScopes:0:Name=openid", "--Logging:LogLevel:Default=Warning"]);
        Assert.Equal(2, code);
        Assert.Equal("Configuration error: IdentityServer:ApiScopes has an invalid or reserved name 'openid'.", error.ToString().Trim());
    }
}
