using IdentityServer.Audit;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Options;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Protocol;

/// <summary>
/// Counts failed client authentications per confidential <c>client_id</c> and per client address in fixed windows, in the database
/// (table <c>ClientAuthenticationFailures</c>), and tells whether a request must wait (<see cref="ClientAuthenticationOptions"/>;
/// RFC 6749 §2.3.1). Each count is changed by one conditional statement, so failures on any number of nodes are all counted. When a
/// count first passes its limit in a window, the audit log gets one <see cref="AuditEvents.ClientAuthenticationThrottled"/> event.
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
    /// How long a request of <paramref name="clientId"/> from <paramref name="address"/> must wait: null when neither count has reached
    /// its limit in the current window; else the time until that window ends, in whole seconds (at least 1).
    /// </summary>
    public async Task<TimeSpan?> RetryAfterAsync(string? clientId, string? address, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var since = now.AddSeconds(-Limits.WindowSeconds);
        // "" matches no key (every key has a prefix), so an absent client or address asks nothing of that part.
        DateTimeOffset? latest = null;
        await foreach (var start in FullWindowsQuery(db)(db, clientId is null ? "" : ClientKey(clientId), address is null ? "" : AddressKey(address), since,
                           Limits.FailuresPerClient, Limits.FailuresPerAddress).WithCancellation(ct))
            latest = latest is { } l && l > start ? l : start;
        return latest is { } full ? Until(full, now) : null;
    }

    /// <summary>
    /// The windows at their limit among a client's and an address's counts: compiled once per model (EF binds a compiled query to the
    /// model it first ran with; a process has one per provider), since every request that authenticates a client asks it and an
    /// uncompiled LINQ query is translated again on each call (measured here: about a third of a client_credentials request).
    /// </summary>
    private static Func<IdentityServerDbContext, string, string, DateTimeOffset, int, int, IAsyncEnumerable<DateTimeOffset>> FullWindowsQuery(IdentityServerDbContext db) =>
        CompiledByModel.GetValue(db.Model, _ => EF.CompileAsyncQuery((IdentityServerDbContext c, string clientKey, string addressKey, DateTimeOffset since, int perClient, int perAddress) =>
            c.ClientAuthenticationFailures.AsNoTracking()
                .Where(f => f.WindowStart > since && ((f.Key == clientKey && f.Count >= perClient) || (f.Key == addressKey && f.Count >= perAddress)))
                .Select(f => f.WindowStart)));

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Microsoft.EntityFrameworkCore.Metadata.IModel,
        Func<IdentityServerDbContext, string, string, DateTimeOffset, int, int, IAsyncEnumerable<DateTimeOffset>>> CompiledByModel = new();

    /// <summary>
    /// Counts one failed authentication for the confidential client <paramref name="clientId"/> (null for an unknown or public client:
    /// those are counted by address only, so nobody can lock out a public client, and guessing names cannot fill the table) and for
    /// <paramref name="address"/>.
    /// </summary>
    /// <returns>
    /// Null while both counts are within their limits; else how long to wait. A failure past the limit is then answered like a throttled
    /// request, not as a failure, so however many guesses arrive at once, no more than the limit per window tell the guesser anything.
    /// </returns>
    public async Task<TimeSpan?> RecordFailureAsync(string? clientId, string? address, CancellationToken ct)
    {
        TimeSpan? wait = null;
        if (clientId is not null) wait = await CountAsync(ClientKey(clientId), Limits.FailuresPerClient, "client", clientId, ct);
        if (address is not null && await CountAsync(AddressKey(address), Limits.FailuresPerAddress, "address", address, ct) is { } addressWait)
            wait = wait is { } w && w > addressWait ? w : addressWait;
        return wait;
    }

    /// <summary>Adds one failure to <paramref name="key"/>'s count (a new window when the last one ended); the wait once it passed <paramref name="limit"/>.</summary>
    private async Task<TimeSpan?> CountAsync(string key, int limit, string kind, string subject, CancellationToken ct)
    {
        var (count, windowStart) = await AttemptCounts.AddAsync(db, key, Limits.WindowSeconds, time, ct);
        if (count < limit) return null;
        // The failure that reaches the limit in this window records it, once, whichever node it reaches.
        if (await db.ClientAuthenticationFailures.Where(f => f.Key == key && f.WindowStart == windowStart && !f.Throttled)
                .ExecuteUpdateAsync(s => s.SetProperty(f => f.Throttled, true), ct) == 1)
            await ThrottledAsync(kind, subject, ct);
        return count > limit ? Until(windowStart, time.GetUtcNow()) : null;
    }

    private TimeSpan Until(DateTimeOffset windowStart, DateTimeOffset now) => AttemptCounts.Until(windowStart, Limits.WindowSeconds, now);

    private async Task ThrottledAsync(string kind, string subject, CancellationToken ct)
    {
        logger.LogWarning("Client authentication throttled for {Kind} {Subject}: too many failures in {Window} s", kind, subject, Limits.WindowSeconds);
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientAuthenticationThrottled, "system", null, kind, subject,
            $"too many failed client authentications; refused until the {Limits.WindowSeconds}-second window ends"), ct);
    }
}
