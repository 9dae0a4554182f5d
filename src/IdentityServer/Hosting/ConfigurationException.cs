using IdentityServer.Data;
using IdentityServer.Options;
using Microsoft.Extensions.Options;

namespace IdentityServer.Hosting;

/// <summary>A setting that cannot work (a file that will not load, an unknown provider); the message names the setting.</summary>
public sealed class ConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Configuration errors at start-up, for the server and every command: found before anything starts, and reported as one line per
/// error naming the setting, with exit code 2, instead of a stack trace.
/// </summary>
public static class ConfigurationErrors
{
    /// <summary>Exit code for a configuration error (the same as for bad command-line usage).</summary>
    public const int ExitCode = 2;

    /// <summary>
    /// Validates the settings before the host is built from them: <see cref="IdentityServerOptions"/> with
    /// <see cref="IdentityServerOptionsValidator"/>, and the database provider. (The host validates them again when it starts, for
    /// hosts built some other way, such as tests.)
    /// </summary>
    /// <exception cref="OptionsValidationException">A setting is invalid; <see cref="OptionsValidationException.Failures"/> has one line per error.</exception>
    public static void Check(IConfiguration configuration, IHostEnvironment environment)
    {
        var failures = new List<string>();
        // A value of the wrong type ("abc" for a number) is reported by the binder with the key's full path.
        T? Bind<T>(string section) where T : class
        {
            try { return configuration.GetSection(section).Get<T>(); }
            catch (InvalidOperationException e) { failures.Add(e.Message); return null; }
        }
        var options = Bind<IdentityServerOptions>(IdentityServerOptions.SectionName);
        if (failures.Count == 0)
        {
            var result = new IdentityServerOptionsValidator(environment).Validate(null, options ?? new IdentityServerOptions());
            if (result.Failed) failures.AddRange(result.Failures ?? [result.FailureMessage]);
        }
        var database = Bind<DatabaseOptions>(DatabaseOptions.SectionName) ?? new DatabaseOptions();
        if (!DatabaseSetup.IsSupported(database.Provider)) failures.Add(DatabaseSetup.UnsupportedProvider);
        else if (database.Provider == DatabaseSetup.PostgreSql && string.IsNullOrWhiteSpace(database.ConnectionString))
            failures.Add($"{DatabaseOptions.SectionName}:ConnectionString is required for PostgreSql.");
        var proxy = Bind<ProxyOptions>(ProxyOptions.SectionName) ?? new ProxyOptions();
        for (var i = 0; i < proxy.KnownProxies.Count; i++)
            if (!System.Net.IPAddress.TryParse(proxy.KnownProxies[i], out _))
                failures.Add($"{ProxyOptions.SectionName}:KnownProxies:{i} '{proxy.KnownProxies[i]}' is not an IP address.");
        for (var i = 0; i < proxy.KnownNetworks.Count; i++)
            if (!System.Net.IPNetwork.TryParse(proxy.KnownNetworks[i], out _))
                failures.Add($"{ProxyOptions.SectionName}:KnownNetworks:{i} '{proxy.KnownNetworks[i]}' is not a network in CIDR form (10.0.0.0/8).");
        if (failures.Count > 0) throw new OptionsValidationException(IdentityServerOptions.SectionName, typeof(IdentityServerOptions), failures);
    }

    /// <summary>The configuration errors <paramref name="exception"/> carries (inner and aggregated ones too); empty when it is something else.</summary>
    public static IReadOnlyList<string> Of(Exception exception)
    {
        var lines = new List<string>();
        void Walk(Exception? e)
        {
            switch (e)
            {
                case null: return;
                case OptionsValidationException v: lines.AddRange(v.Failures); return;
                case ConfigurationException c: lines.Add(c.Message); return;
                case AggregateException a: foreach (var inner in a.InnerExceptions) Walk(inner); return;
                default: Walk(e.InnerException); return;
            }
        }
        Walk(exception);
        return lines;
    }

    /// <summary>Writes each error as one line, <c>Configuration error: …</c>, to <paramref name="error"/>.</summary>
    public static int Report(IReadOnlyList<string> errors, TextWriter error)
    {
        foreach (var line in errors) error.WriteLine("Configuration error: " + line.ReplaceLineEndings(" "));
        return ExitCode;
    }
}
