using IdentityServer.Data;
using IdentityServer.Protocol.Keys;

namespace IdentityServer.Hosting;

/// <summary>
/// Runs before the server or any other hosted service starts (in <see cref="IHostedLifecycleService.StartingAsync"/>,
/// which precedes every <c>StartAsync</c>, so Data Protection never reads a key ring table that does not exist yet):
/// applies migrations (when <see cref="DatabaseOptions.MigrateOnStartup"/>), upserts configured clients and seed users, and
/// loads or creates the signing key.
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
        // Create (or load) the signing key now, so it is in the database, and so in JWKS, before any token needs it.
        await scope.ServiceProvider.GetRequiredService<ISigningKeyStore>().GetSigningCredentialsAsync(cancellationToken);
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
