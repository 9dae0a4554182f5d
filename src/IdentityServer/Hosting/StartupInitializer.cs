using IdentityServer.Data;
using IdentityServer.Keys;

namespace IdentityServer.Hosting;

/// <summary>
/// Runs before the server or any other hosted service starts (in <see cref="IHostedLifecycleService.StartingAsync"/>,
/// which precedes every <c>StartAsync</c>, so Data Protection never reads a key ring table that does not exist yet):
/// applies migrations (when <see cref="DatabaseOptions.MigrateOnStartup"/>; a database of the previous release is upgraded on the
/// way, see <see cref="DatabaseSetup.MigrateAsync"/>), upserts configured clients and seed users, and loads or creates the token
/// encryption key and the signing keys, so they are in the database, and the signing keys in JWKS, before any request needs them.
/// </summary>
public sealed class StartupInitializer(IServiceScopeFactory scopes, DatabaseOptions database, ServerTokenKeys serverTokenKeys, ISigningKeyStore keys) : IHostedLifecycleService
{
    /// <inheritdoc />
    public async Task StartingAsync(CancellationToken cancellationToken)
    {
        using var scope = scopes.CreateScope();
        if (database.MigrateOnStartup) await DatabaseSetup.MigrateAsync(scope.ServiceProvider, cancellationToken);
        await serverTokenKeys.EnsureAsync(cancellationToken);
        await scope.ServiceProvider.GetRequiredService<ConfigurationSeeder>().SeedAsync(cancellationToken);
        foreach (var algorithm in keys.Algorithms) await keys.GetSigningCredentialsAsync(cancellationToken, algorithm);
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
