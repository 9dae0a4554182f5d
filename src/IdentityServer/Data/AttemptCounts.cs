using IdentityServer.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data;

/// <summary>
/// Fixed-window attempt counts kept in the database (table <c>ClientAuthenticationFailures</c>, one row per key), so that every node
/// sharing the database adds to the same count: each attempt is one conditional increment, read back in the same transaction, and the
/// row is made at most once (its key is the primary key). Used for failed client authentications (RFC 6749 §2.3.1) and user-code entry (RFC 8628 §5.1).
/// </summary>
public static class AttemptCounts
{
    /// <summary>
    /// Adds one attempt to <paramref name="key"/> (at most 120 characters) and returns the count and the start of its window. A window
    /// lasts <paramref name="windowSeconds"/> seconds from its first attempt; an attempt after it starts a new window at 1.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="key"/> is longer than 120 characters (the column's size on every provider).</exception>
    /// <exception cref="DbUpdateException">When the row could not be made or changed three times over (contention beyond reason).</exception>
    public static async Task<(int Count, DateTimeOffset WindowStart)> AddAsync(IdentityServerDbContext db, string key, int windowSeconds, TimeProvider time,
        CancellationToken ct)
    {
        if (key.Length > MaxKeyLength) throw new ArgumentException($"An attempt count key is at most {MaxKeyLength} characters.", nameof(key));
        for (var attempt = 0; ; attempt++)
        {
            var now = time.GetUtcNow();
            var since = now.AddSeconds(-windowSeconds);
            // The increment and the read in one transaction: the update holds the row (PostgreSQL's row lock, SQLite's write lock)
            // until the commit, so the count read is this attempt's own place, whatever runs beside it.
            await using (var transaction = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null)
            {
                if (await db.ClientAuthenticationFailures.Where(f => f.Key == key && f.WindowStart > since)
                        .ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, f => f.Count + 1), ct) == 1
                    || await db.ClientAuthenticationFailures.Where(f => f.Key == key && f.WindowStart <= since)
                        .ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, 1).SetProperty(f => f.WindowStart, now).SetProperty(f => f.Throttled, false), ct) == 1)
                {
                    var row = await db.ClientAuthenticationFailures.AsNoTracking().Where(f => f.Key == key).Select(f => new { f.Count, f.WindowStart }).FirstAsync(ct);
                    if (transaction is not null) await transaction.CommitAsync(ct);
                    return (row.Count, row.WindowStart);
                }
            }
            var entry = db.ClientAuthenticationFailures.Add(new ClientAuthenticationFailureEntity { Key = key, WindowStart = now, Count = 1 });
            try
            {
                await db.SaveChangesAsync(ct);
                return (1, now);
            }
            catch (DbUpdateException) when (attempt < 2)
            {
                // Another request made the row first: count on it.
            }
            finally { entry.State = EntityState.Detached; }
        }
    }

    /// <summary>The longest key, characters.</summary>
    public const int MaxKeyLength = 120;

    /// <summary>
    /// Whole seconds (1 to <paramref name="windowSeconds"/>) from <paramref name="now"/> until the window that started at
    /// <paramref name="windowStart"/> ends. A concurrent request may have started the window a moment after this one read its clock,
    /// hence the upper bound.
    /// </summary>
    public static TimeSpan Until(DateTimeOffset windowStart, int windowSeconds, DateTimeOffset now) =>
        TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling((windowStart.AddSeconds(windowSeconds) - now).TotalSeconds), 1, windowSeconds));
}
