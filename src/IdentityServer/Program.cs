using IdentityServer.Cli;
using IdentityServer.Hosting;

namespace IdentityServer;

/// <summary>
/// The one executable. With no verb it serves (ASP.NET arguments such as <c>--urls</c> pass through);
/// with a verb (<c>migrate</c>, <c>users</c>, <c>clients</c>) it runs that command and exits (see <see cref="CliApp"/>).
/// </summary>
public partial class Program
{
    /// <summary>
    /// Entry point. Exit code 0 on success, 1 on a failed command, 2 on bad usage or a configuration error (one line per error on
    /// standard error, naming the setting; see <see cref="ConfigurationErrors"/>).
    /// </summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && CliApp.IsVerb(args[0]))
            return await CliApp.RunAsync(args);

        try
        {
            var builder = ServerSetup.CreateBuilder(args);
            ConfigurationErrors.Check(builder.Configuration, builder.Environment);
            var app = builder.Build();
            app.UsePipeline();
            await app.RunAsync();
            return 0;
        }
        catch (Exception e) when (ConfigurationErrors.Of(e) is { Count: > 0 } errors)
        {
            return ConfigurationErrors.Report(errors, Console.Error);
        }
    }
}
