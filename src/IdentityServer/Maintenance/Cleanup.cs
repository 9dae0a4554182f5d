using IdentityServer.Data;
using IdentityServer.Protocol.Options;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Maintenance;

/// <summary>What one cleanup run removed, per kind of artefact (rows).</summary>
public sealed record CleanupReport(int AuthorizationCodes, int DeviceCodes, int RefreshTokens, int AccessTokens, int Grants, int Challenges, int SigningKeys = 0)
{
    /// <summary>All rows removed.</summary>
    public int Total => AuthorizationCodes + DeviceCodes + RefreshTokens + AccessTokens + Grants + Challenges + SigningKeys;
}

/// <summary>
/// Removes what can no longer be used, once it is older than <see cref="CleanupOptions.RetentionSeconds"/>: authorization and
/// device codes past expiry; refresh tokens past expiry (rotated ones stay until then, so reuse is still detected); access
/// token records past expiry; grants past their absolute end or revoked; used WebAuthn challenges past expiry; signing keys that
/// left JWKS (withdrawn, or retired for longer than <see cref="KeyOptions.RetiredPublishedDays"/>). Deletes in
/// batches of <see cref="CleanupOptions.BatchSize"/> rows so no statement holds locks for long. Runs under the lease
/// <c>cleanup</c>, so with several nodes one of them runs per interval.
/// </summary>
public sealed class Cleanup(IServiceScopeFactory scopes, IdentityServerOptions options, TimeProvider time, ILogger<Cleanup> logger) : BackgroundService
{
    /// <summary>Name of the lease.</summary>
    public const string LeaseName = "cleanup";

    private readonly string _node = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";

    /// <summary>Runs once if this node gets the lease for the current interval; null when another node has it.</summary>
    public async Task<CleanupReport?> TryRunAsync(CancellationToken ct = default)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var now = time.GetUtcNow();
        // Slightly less than the interval, so the next tick on this node is not refused by its own lease.
        var until = now.AddSeconds(options.Cleanup.IntervalSeconds * 0.9);
        if (!await Lease.TryTakeAsync(db, LeaseName, _node, now, until, ct)) return null;
        return await RunAsync(db, now.AddSeconds(-options.Cleanup.RetentionSeconds), ct);
    }

    private async Task<CleanupReport> RunAsync(IdentityServerDbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        var keyCutoff = cutoff.AddDays(-options.Keys.RetiredPublishedDays);
        var batch = options.Cleanup.BatchSize;
        async Task<int> Drain(Func<int, Task<int>> deleteBatch)
        {
            int total = 0, n;
            do { n = await deleteBatch(batch); total += n; } while (n == batch && !ct.IsCancellationRequested);
            return total;
        }
        var report = new CleanupReport(
            await Drain(b => db.AuthorizationCodes.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.DeviceCodes.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.RefreshTokens.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.AccessTokens.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.Grants.Where(x => x.ExpiresAt < cutoff || (x.RevokedAt != null && x.RevokedAt < cutoff)).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.ConsumedChallenges.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            // Keys no longer published (withdrawn, or retired longer than they stay in JWKS): their private parts go too.
            await db.SigningKeys.Where(k => (k.WithdrawnAt != null && k.WithdrawnAt < cutoff) || (k.RetiredAt != null && k.RetiredAt < keyCutoff))
                .ExecuteDeleteAsync(ct));
        logger.LogInformation("Cleanup removed {Total} rows: {Report}", report.Total, report);
        return report;
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Cleanup.Enabled) return;
        // Nodes try every tenth of the interval (at least every minute); the lease lets one of them run per interval.
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(60, options.Cleanup.IntervalSeconds / 10)), time);
        do
        {
            try { await TryRunAsync(stoppingToken); }
            catch (Exception e) when (e is not OperationCanceledException) { logger.LogError(e, "Cleanup failed; it is tried again at the next tick"); }
        } while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
