using System.Diagnostics;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Runs the repository's shell scripts (<c>scripts/*.sh</c>) the way an operator would.</summary>
public static class Scripts
{
    /// <summary>The repository root (the folder of IdentityServer.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    private static string FindRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "IdentityServer.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        return root;
    }

    /// <summary>Runs <c>scripts/<paramref name="script"/></c> with <paramref name="args"/>; its standard output, or an exception with both streams when it fails.</summary>
    /// <exception cref="InvalidOperationException">The script exited with a code other than 0, or ran longer than <paramref name="timeoutSeconds"/>.</exception>
    public static async Task<string> RunAsync(string script, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 180)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(RepoRoot, "scripts", script), .. args])
        {
            WorkingDirectory = RepoRoot, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"scripts/{script} {string.Join(' ', args)} ran longer than {timeoutSeconds} s:\n{await stderr}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"scripts/{script} {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}

/// <summary>
/// A PostgreSQL cluster of the test's own (<c>scripts/postgres.sh</c>), for tests that stop and start the database server; the run's
/// shared server (<see cref="TestDatabase.PostgresServer"/>) stays up for everyone else. Needs the PostgreSQL binaries, which
/// <c>scripts/test.sh</c> installs.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"idsrv-pg-{Guid.NewGuid():N}");
    private string _port = "";

    /// <summary>The base connection string (no database).</summary>
    public string Server { get; private set; } = "";

    /// <summary>Creates and starts the cluster on a free port.</summary>
    public static async Task<PostgresCluster> StartAsync()
    {
        var cluster = new PostgresCluster();
        cluster._port = (await Scripts.RunAsync("postgres.sh", ["freeport"])).Trim();
        await cluster.ResumeAsync();
        return cluster;
    }

    /// <summary>The connection string of database <paramref name="name"/> on this cluster.</summary>
    public string ConnectionString(string name) => $"{Server};Database={name}";

    /// <summary>Stops the server (fast shutdown: open connections are cut), keeping its data.</summary>
    public Task HaltAsync() => Scripts.RunAsync("postgres.sh", ["halt", _dir]);

    /// <summary>Starts the server again, on the same port and data.</summary>
    public async Task ResumeAsync() =>
        Server = (await Scripts.RunAsync("postgres.sh", ["start", _dir, _port], new Dictionary<string, string> { ["PG_NO_FSYNC"] = "1" })).Trim();

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await Scripts.RunAsync("postgres.sh", ["stop", _dir]);
}
