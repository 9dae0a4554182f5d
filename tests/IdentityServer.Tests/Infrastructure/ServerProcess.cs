using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// The built server as a separate process on a real port (<c>dotnet IdentityServer.dll</c>, in Production unless told otherwise), for
/// what depends on the real host: response headers Kestrel writes, HSTS behind a TLS-terminating proxy, exit codes. Settings are
/// environment variables (<c>IdentityServer__Issuer</c>, …); the database is a new SQLite file, deleted on dispose.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;
    private readonly string _database;

    private ServerProcess(Process process, StringBuilder output, string database, Uri address)
    {
        _process = process;
        _output = output;
        _database = database;
        Address = address;
        Http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = address };
    }

    /// <summary>Where the server listens: <c>http://127.0.0.1:port</c>.</summary>
    public Uri Address { get; }

    /// <summary>A client that keeps no cookies and follows no redirects.</summary>
    public HttpClient Http { get; }

    /// <summary>Sends SIGTERM, as a container runtime or service manager does to stop the server.</summary>
    public void Terminate() => Process.Start("kill", ["-TERM", _process.Id.ToString()])!.WaitForExit();

    /// <summary>Waits at most <paramref name="timeout"/> for the process to end; its exit code.</summary>
    /// <exception cref="TimeoutException">It is still running.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { throw new TimeoutException("The server did not exit:\n" + Output); }
        _process.WaitForExit(); // drains the output
        return _process.ExitCode;
    }

    /// <summary>Everything the process wrote so far (stdout and stderr).</summary>
    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>The configuration every test process starts with: a loopback https issuer (<c>https://localhost:port</c>), SQLite.</summary>
    private static Dictionary<string, string?> Defaults(int port, string database) => new()
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production",
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
        ["IdentityServer__Issuer"] = $"https://localhost:{port}",
        ["IdentityServer__Database__ConnectionString"] = $"Data Source={database}",
        ["IdentityServer__ApiScopes__0__Name"] = "api1",
        ["IdentityServer__Clients__0__ClientId"] = "web",
        ["IdentityServer__Clients__0__ClientSecret"] = IdentityServerFactory.WebSecret,
        ["IdentityServer__Clients__0__RedirectUris__0"] = IdentityServerFactory.WebRedirect,
        ["IdentityServer__Clients__0__GrantTypes__0"] = "authorization_code",
        ["IdentityServer__Clients__0__Scopes__0"] = "openid",
        ["Logging__LogLevel__Default"] = "Warning",
        ["DOTNET_NOLOGO"] = "1",
    };

    /// <summary>Starts the server with <paramref name="settings"/> over the defaults and waits until discovery answers (60 s at most).</summary>
    /// <exception cref="InvalidOperationException">The process ended, or did not answer in time; the message has its output.</exception>
    public static async Task<ServerProcess> StartAsync(IReadOnlyDictionary<string, string?>? settings = null)
    {
        var port = FreePort();
        var database = Path.Combine(Path.GetTempPath(), $"idsrv-process-{Guid.NewGuid():N}.db");
        var (process, output) = Launch(Merge(Defaults(port, database), settings));
        var server = new ServerProcess(process, output, database, new Uri($"http://127.0.0.1:{port}"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited) break;
            try
            {
                var probe = new HttpRequestMessage(HttpMethod.Get, "/.well-known/openid-configuration");
                probe.Headers.Add("X-Forwarded-Proto", "https");
                if ((await server.Http.SendAsync(probe)).StatusCode == HttpStatusCode.OK) return server;
            }
            catch (HttpRequestException) { }
            await Task.Delay(200);
        }
        var text = server.Output;
        await server.DisposeAsync();
        throw new InvalidOperationException("The server did not start:\n" + text);
    }

    /// <summary>Runs the server with <paramref name="settings"/> over the defaults until it exits by itself (60 s at most).</summary>
    /// <returns>The exit code and what it wrote to stdout and stderr.</returns>
    public static async Task<(int ExitCode, string Output)> RunToExitAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var database = Path.Combine(Path.GetTempPath(), $"idsrv-process-{Guid.NewGuid():N}.db");
        var (process, output) = Launch(Merge(Defaults(FreePort(), database), settings));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException) { process.Kill(entireProcessTree: true); throw new TimeoutException("The server did not exit:\n" + output); }
        process.WaitForExit(); // drains the output
        IdentityServerFactory.DeleteDatabase(database);
        lock (output) return (process.ExitCode, output.ToString());
    }

    private static Dictionary<string, string?> Merge(Dictionary<string, string?> defaults, IReadOnlyDictionary<string, string?>? settings)
    {
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>()) defaults[k] = v;
        return defaults;
    }

    /// <summary><c>Release</c> or <c>Debug</c>: the build of the server these tests run, the same as theirs.</summary>
    public static string BuildConfiguration { get; } =
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";

    private static (Process, StringBuilder) Launch(Dictionary<string, string?> environment)
    {
        var dll = Path.Combine(Scripts.RepoRoot, "src", "IdentityServer", "bin", BuildConfiguration, "net10.0", "IdentityServer.dll");
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (k, v) in environment) start.Environment[k] = v;
        var output = new StringBuilder();
        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return (process, output);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        IdentityServerFactory.DeleteDatabase(_database);
    }
}
