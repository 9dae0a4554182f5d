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
    [InlineData("IdentityServer__Lifetimes__AccessTokenSeconds", "an hour", "IdentityServer:Lifetimes:AccessTokenSeconds")] // not a number
    [InlineData("IdentityServer__Hsts__IncludeSubDomains", "yes please", "IdentityServer:Hsts:IncludeSubDomains")]        // not a boolean
    [InlineData("IdentityServer__Proxy__KnownProxies__0", "10.0.0.300", "IdentityServer:Proxy:KnownProxies:0 '10.0.0.300' is not an IP address")]
    [InlineData("IdentityServer__Proxy__KnownNetworks__0", "10.0.0.0", "IdentityServer:Proxy:KnownNetworks:0")]
    [InlineData("IdentityServer__Users__0__Password", "short", "IdentityServer:Users:0 ('seed') cannot be created")]
    public async Task Server_BadSetting_ExitCode2_OneLineNamingIt(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (key.StartsWith("IdentityServer__Users__0", StringComparison.Ordinal)) settings["IdentityServer__Users__0__UserName"] = "seed";
        var (code, output) = await ServerProcess.RunToExitAsync(settings);
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
