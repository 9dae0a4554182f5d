using System.Collections;
using System.Reflection;
using System.Text.RegularExpressions;
using IdentityServer.Data;
using IdentityServer.Hosting;
using IdentityServer.Options;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Hosting;

/// <summary>
/// The container files say what the server understands: every setting docker-compose.yml passes binds to a property of the options
/// classes (a misspelt key would be silently ignored by configuration binding), and the probes they use are the server's paths.
/// </summary>
public partial class DeploymentFilesTests
{
    private static string Read(string path) => File.ReadAllText(Path.Combine(Scripts.RepoRoot, path));

    /// <summary>The option class behind each configuration section the server binds (<c>IdentityServer</c> and its separately bound subsections).</summary>
    private static readonly Dictionary<string, Type> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        [IdentityServerOptions.SectionName] = typeof(IdentityServerOptions),
        [DatabaseOptions.SectionName] = typeof(DatabaseOptions),
        [ProxyOptions.SectionName] = typeof(ProxyOptions),
        [DataProtectionSettings.SectionName] = typeof(DataProtectionSettings),
    };

    /// <summary>Settings read by ASP.NET Core, .NET logging or OpenTelemetry rather than by our options classes.</summary>
    private static readonly HashSet<string> FrameworkSettings = new(StringComparer.Ordinal)
    {
        "Logging:Console:FormatterName", "OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT",
    };

    [GeneratedRegex(@"^\s+([A-Za-z][A-Za-z0-9_]*):\s", RegexOptions.Multiline)]
    private static partial Regex YamlKey();

    /// <summary>Whether the configuration key <paramref name="key"/> (colon-separated) names a settable property.</summary>
    private static bool Binds(string key)
    {
        var section = Sections.Keys.Where(s => key.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase)).MaxBy(s => s.Length);
        if (section is null) return false;
        var type = Sections[section];
        foreach (var segment in key[(section.Length + 1)..].Split(':'))
        {
            if (int.TryParse(segment, out _) && type.IsGenericType && typeof(IList).IsAssignableFrom(type))
            {
                type = type.GetGenericArguments()[0];
                continue;
            }
            var property = type.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || !property.CanWrite) return false;
            type = property.PropertyType;
        }
        return true;
    }

    [Fact]
    public void EverySettingTheComposeFilePasses_ExistsInTheOptionsClasses()
    {
        var keys = YamlKey().Matches(Read("docker-compose.yml")).Select(m => m.Groups[1].Value)
            .Where(k => k.Contains("__") || k.StartsWith("OTEL_", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal))
            .Select(k => k.Replace("__", ":")).Distinct().ToList();
        Assert.Contains("IdentityServer:Database:ConnectionString", keys);
        var unknown = keys.Where(k => !FrameworkSettings.Contains(k) && !Binds(k)).ToList();
        Assert.True(unknown.Count == 0, "settings no options class has: " + string.Join(", ", unknown));
    }

    [Fact]
    public void TheCheckerItself_RefusesAMisspeltSetting()
    {
        Assert.True(Binds("IdentityServer:Users:0:Roles:0"));
        Assert.True(Binds("IdentityServer:Proxy:KnownProxies:0"));
        Assert.False(Binds("IdentityServer:Database:ConectionString"));
        Assert.False(Binds("IdentityServer:Metrics:Token"));
    }

    [Fact]
    public void ImageAndProxies_UseTheServersProbes_AndTheImageRunsUnprivilegedOn8080()
    {
        var dockerfile = Read("Dockerfile");
        Assert.Matches(@"(?m)^HEALTHCHECK .*\n?.*" + Regex.Escape(Health.LivePath), dockerfile);
        Assert.Matches(@"(?m)^USER \$APP_UID$", dockerfile);
        Assert.Matches(@"(?m)^EXPOSE 8080$", dockerfile);
        Assert.Contains("ASPNETCORE_URLS=http://+:8080", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/sdk:10\.0 AS build$", dockerfile);
        Assert.Matches(@"(?m)^FROM mcr\.microsoft\.com/dotnet/aspnet:10\.0 AS runtime$", dockerfile);
        Assert.Contains("health_uri " + Health.ReadyPath, Read("deploy/Caddyfile"));
        Assert.Contains("option httpchk GET " + Health.ReadyPath, Read("scripts/cluster.sh"));
    }
}
