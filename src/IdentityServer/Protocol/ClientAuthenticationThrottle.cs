using IdentityServer.Audit;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Options;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Protocol;

/// <summary>
/// Counts failed client authentications per <c>client_id</c> and per client address in fixed windows, in the database (table
/// <c>ClientAuthenticationFailures</c>), and tells whether a request must wait (<see cref="ClientAuthenticationOptions"/>; RFC 6749
/// §2.3.1). Each count is changed by one conditional statement, so concurrent failures on any number of nodes are all counted.
/// When a count reaches its limit, the audit log gets one <see cref="AuditEvents.ClientAuthenticationThrottled"/> event for that window.
/// </summary>
public sealed class ClientAuthenticationThrottle(IdentityServerDbContext db, IdentityServerOptions options, TimeProvider time, IAuditLog audit,
    ILogger<ClientAuthenticationThrottle> logger)
{
    private ClientAuthenticationOptions Limits => options.ClientAuthentication;

    /// <summary>The key of a client's count.</summary>
    public static string ClientKey(string clientId) => "client:" + (clientId.Length > 100 ? clientId[..100] : clientId);

    /// <summary>The key of an address's count.</summary>
    public static string AddressKey(string address) => "address:" + address;

    /// <summary>
    /// How long the request of <paramref name="clientId"/> from <paramref name="address"/> must wait: null when neither count has
    /// reached its limit in the current window; else the time until that window ends, rounded up to whole seconds.
    /// </summary>
    public async Task<TimeSpan?> RetryAfterAsync(string? clientId, string? address, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = now.AddSeconds(-Limits.WindowSeconds);
        var clientKey = clientId is null ? null : ClientKey(clientId);
        var addressKey = address is null ? null : AddressKey(address);
        var full = await db.ClientAuthenticationFailures.AsNoTracking()
            .Where(f => f.WindowStart > since && ((f.Key == clientKey && f.Count >= Limits.FailuresPerClient) || (f.Key == addressKey && f.Count >= Limits.FailuresPerAddress)))
            .Select(f => f.WindowStart).ToListAsync(ct);
        if (full.Count == 0) return null;
        var wait = full.Max().AddSeconds(Limits.WindowSeconds) - now;
        return TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(wait.TotalSeconds)));
    }

    /// <summary>Counts one failed authentication for <paramref name="clientId"/> (when it names a client) and for <paramref name="address"/>.</summary>
    public async Task RecordFailureAsync(string? clientId, bool knownClient, string? address, CancellationToken ct)
    {
        // Unknown client_ids are counted per address only, so guessing names cannot fill the table.
        if (clientId is not null && knownClient && await CountAsync(ClientKey(clientId), ct) == Limits.FailuresPerClient)
            await ThrottledAsync("client", clientId, ct);
        if (address is not null && await CountAsync(AddressKey(address), ct) == Limits.FailuresPerAddress)
            await ThrottledAsync("address", address, ct);
    }

    /// <summary>Adds one failure to <paramref name="key"/>'s count (a new window when the last one ended); returns the new count.</summary>
    private async Task<int> CountAsync(string key, CancellationToken ct)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var now = time.GetUtcNow();
            var since = now.AddSeconds(-Limits.WindowSeconds);
            if (await db.ClientAuthenticationFailures.Where(f => f.Key == key && f.WindowStart > since)
                    .ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, f => f.Count + 1), ct) == 1
                || await db.ClientAuthenticationFailures.Where(f => f.Key == key && f.WindowStart <= since)
                    .ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, 1).SetProperty(f => f.WindowStart, now), ct) == 1)
                return await db.ClientAuthenticationFailures.AsNoTracking().Where(f => f.Key == key).Select(f => f.Count).FirstAsync(ct);
            var entry = db.ClientAuthenticationFailures.Add(new ClientAuthenticationFailureEntity { Key = key, WindowStart = now, Count = 1 });
            try
            {
                await db.SaveChangesAsync(ct);
                return 1;
            }
            catch (DbUpdateException)
            {
                // Another request made the row first: count on it.
            }
            finally { entry.State = EntityState.Detached; }
        }
        return 0;
    }

    private async Task ThrottledAsync(string kind, string subject, CancellationToken ct)
    {
        logger.LogWarning("Client authentication throttled for {Kind} {Subject}: {Window} s after too many failures", kind, subject, Limits.WindowSeconds);
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientAuthenticationThrottled, "system", null, kind, subject,
            $"too many failed client authentications; refused for up to {Limits.WindowSeconds} s"), ct);
    }
}
