using IdentityServer.Data;

namespace IdentityServer.Hosting;

/// <summary>
/// Runs before the server or any other hosted service starts (in <see cref="IHostedLifecycleService.StartingAsync"/>,
/// which precedes every <c>StartAsync</c>, so Data Protection never reads a key ring table that does not exist yet):
/// applies migrations (when <see cref="DatabaseOptions.MigrateOnStartup"/>) and upserts configured clients and seed users.
/// </summary>
public sealed class StartupInitializer(IServiceScopeFactory scopes, DatabaseOptions database) : IHostedLifecycleService
{
    /// <inheritdoc />
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        if (database.MigrateOnStartup) await DatabaseSetup.MigrateAsync(db, cancellationToken);
        await scope.ServiceProvider.GetRequiredService<ConfigurationSeeder>().SeedAsync(cancellationToken);
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    /// <inheritdoc />
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
