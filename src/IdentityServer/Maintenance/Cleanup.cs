using IdentityServer.Data;
using IdentityServer.Options;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Maintenance;

/// <summary>What one cleanup run removed, per kind of row.</summary>
public sealed record CleanupReport(long Tokens, long Authorizations, int Challenges, int SigningKeys, int RevokedAccessTokens, int DevicePolls, int SessionClients,
    int ClientAuthenticationFailures)
{
    /// <summary>All rows removed.</summary>
    public long Total => Tokens + Authorizations + Challenges + SigningKeys + RevokedAccessTokens + DevicePolls + SessionClients + ClientAuthenticationFailures;
}

/// <summary>
/// Removes what can no longer be used, once it is older than <see cref="CleanupOptions.RetentionSeconds"/>:
/// <list type="bullet">
/// <item>token rows (codes, refresh tokens, device and user codes) that are revoked or rejected, and the others once they expired
/// longer ago than the longest access token lives: a spent code or rotated refresh token presented again within its lifetime is
/// still recognised as reuse and revokes its family (RFC 6749 §4.1.2, RFC 9700 §4.14.2), and a sign-in keeps a row as long as an
/// access token issued from it may be valid. OpenIddict's own pruning (<see cref="IOpenIddictTokenManager.PruneAsync"/>) would remove
/// used rows a day after they were made, so it runs only as a backstop, for rows older than all of that;</item>
/// <item>authorizations: revoked ones once their token rows are gone; sign-ins left with no token row, with OpenIddict's pruning
/// (<see cref="IOpenIddictAuthorizationManager.PruneAsync"/>), once older than the longest access token lifetime too, because access
/// tokens have no row and are checked against their authorization until they expire. Remembered consents (permanent, valid
/// authorizations) stay;</item>
/// <item>ours: used WebAuthn challenges, revoked-access-token entries and device polling state past their expiry; the clients of a
/// browser session once the session's sign-in is older than the refresh tokens' absolute lifetime; failed client authentication
/// counts whose window ended; signing keys that left JWKS
/// (withdrawn, or retired for longer than <see cref="KeyOptions.RetiredPublishedDays"/>).</item>
/// </list>
/// Our deletions run in batches of <see cref="CleanupOptions.BatchSize"/> rows so no statement holds locks for long (OpenIddict
/// prunes in batches of its own). Runs under the lease <c>cleanup</c>, so with several nodes one of them runs per interval.
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
        return await RunAsync(scope.ServiceProvider, db, now.AddSeconds(-options.Cleanup.RetentionSeconds), ct);
    }

    private async Task<CleanupReport> RunAsync(IServiceProvider services, IdentityServerDbContext db, DateTimeOffset cutoff, CancellationToken ct)
    {
        var keyCutoff = cutoff.AddDays(-options.Keys.RetiredPublishedDays);
        var sessionCutoff = cutoff.AddSeconds(-options.Lifetimes.RefreshTokenAbsoluteSeconds);
        // Attempt counts stay for the longest of their windows (client authentication, user codes, the sign-in lockout budget).
        var lockoutSeconds = (int)services.GetRequiredService<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Identity.IdentityOptions>>().Value.Lockout.DefaultLockoutTimeSpan.TotalSeconds;
        var failureCutoff = cutoff.AddSeconds(-Math.Max(lockoutSeconds, Math.Max(options.ClientAuthentication.WindowSeconds, options.DeviceFlow.UserCodeAttemptWindowSeconds)));
        var batch = options.Cleanup.BatchSize;
        async Task<int> Drain(Func<int, Task<int>> deleteBatch)
        {
            int total = 0, n;
            do { n = await deleteBatch(batch); total += n; } while (n == batch && !ct.IsCancellationRequested);
            return total;
        }
        // A row that is not revoked stays until it expired longer ago than the longest access token lives: an access token issued when
        // the row was used (a code redeemed, a refresh token rotated near its end) is checked against the sign-in, which must keep a row;
        // and a spent code or rotated refresh token presented again within its lifetime is still recognised as reuse.
        var longestAccessToken = Math.Max(options.Lifetimes.AccessTokenSeconds, ClientOptions.MaxAccessTokenLifetimeSeconds);
        var expiredBefore = cutoff.AddSeconds(-longestAccessToken).UtcDateTime;
        var tokenRows = db.Set<OpenIddictEntityFrameworkCoreToken>();
        long tokens = await Drain(b => tokenRows
            .Where(t => (t.CreationDate < cutoff.UtcDateTime && (t.Status == Statuses.Revoked || t.Status == Statuses.Rejected))
                || t.ExpirationDate < expiredBefore)
            .OrderBy(t => t.Id).Take(b).ExecuteDeleteAsync(ct));
        tokens += await services.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(cutoff.AddSeconds(-options.Lifetimes.RefreshTokenAbsoluteSeconds - longestAccessToken), ct);
        // Revoked authorizations without token rows go now; sign-ins left without token rows wait until their access tokens expired.
        long authorizations = await Drain(b => db.Set<OpenIddictEntityFrameworkCoreAuthorization>()
            .Where(a => a.CreationDate < cutoff.UtcDateTime && a.Status == Statuses.Revoked && !a.Tokens.Any())
            .OrderBy(a => a.Id).Take(b).ExecuteDeleteAsync(ct));
        authorizations += await services.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(cutoff.AddSeconds(-longestAccessToken), ct);
        var report = new CleanupReport(
            tokens,
            authorizations,
            await Drain(b => db.ConsumedChallenges.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            // Keys no longer published (withdrawn, or retired longer than they stay in JWKS): their private parts go too.
            await db.SigningKeys.Where(k => (k.WithdrawnAt != null && k.WithdrawnAt < cutoff) || (k.RetiredAt != null && k.RetiredAt < keyCutoff))
                .ExecuteDeleteAsync(ct),
            await Drain(b => db.RevokedAccessTokens.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.DevicePolls.Where(x => x.ExpiresAt < cutoff).OrderBy(x => x.ExpiresAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.SessionClients.Where(x => x.SignedInAt < sessionCutoff).OrderBy(x => x.SignedInAt).Take(b).ExecuteDeleteAsync(ct)),
            await Drain(b => db.ClientAuthenticationFailures.Where(x => x.WindowStart < failureCutoff).OrderBy(x => x.WindowStart).Take(b).ExecuteDeleteAsync(ct)));
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
