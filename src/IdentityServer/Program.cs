using IdentityServer.Cli;
using IdentityServer.Hosting;

namespace IdentityServer;

/// <summary>
/// The one executable. With no verb it serves (ASP.NET arguments such as <c>--urls</c> pass through);
/// with a verb (<c>migrate</c>, <c>users</c>, <c>clients</c>) it runs that command and exits (see <see cref="CliApp"/>).
/// </summary>
public partial class Program
{
    /// <summary>Entry point. Exit code 0 on success, 1 on a failed command, 2 on bad usage.</summary>
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && CliApp.IsVerb(args[0]))
            return await CliApp.RunAsync(args);

        var app = ServerSetup.CreateBuilder(args).Build();
        app.UsePipeline();
        await app.RunAsync();
        return 0;
    }
}
