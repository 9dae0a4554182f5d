using System.Collections.Concurrent;
using IdentityServer.Options;
using OpenIddict.EntityFrameworkCore.Models;

namespace IdentityServer.Protocol.Clients;

/// <summary>
/// This node's copies of clients as read from the database, by <c>client_id</c>, each kept for at most
/// <see cref="CacheOptions.ClientSeconds"/> seconds (default 5) after it was read. Every request that names a client looks it up several
/// times (OpenIddict's checks and ours); this serves them from memory instead of a database query each (measured here: the lookup was
/// 14% of a <c>client_credentials</c> request's CPU).
/// <para>
/// The bound on staleness: a change made through this node (admin UI, API, configuration) empties the cache at once
/// (<see cref="Clear"/>), and a read that started before the change is not kept; a change made through another node is seen here
/// within <see cref="CacheOptions.ClientSeconds"/>. A client_id that is not found is not remembered, so guessing names cannot fill the
/// cache: it holds at most the clients read since the last change through this node.
/// </para>
/// The cached entities are read without tracking and shared by concurrent requests: they are read, never changed (administration
/// reads its own copy through <see cref="ClientApplicationManager.FindAnyByClientIdAsync"/>).
/// </summary>
public sealed class ClientCache(IdentityServerOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);
    private long generation;

    /// <summary>A client as read, whether it is enabled (parsed once), and when the copy stops being used.</summary>
    public sealed record Entry(OpenIddictEntityFrameworkCoreApplication Application, bool Enabled, DateTimeOffset ExpiresAt);

    /// <summary>False when <see cref="CacheOptions.ClientSeconds"/> is 0: every lookup reads the database.</summary>
    public bool IsEnabled => options.Cache.ClientSeconds > 0;

    /// <summary>Changes with every <see cref="Clear"/>: taken before a read from the database and handed to <see cref="Add"/>.</summary>
    public long Generation => Interlocked.Read(ref generation);

    /// <summary>The unexpired copy of <paramref name="clientId"/>, or null (then the caller reads the database and calls <see cref="Add"/>).</summary>
    public Entry? Find(string clientId) =>
        entries.TryGetValue(clientId, out var entry) && entry.ExpiresAt > time.GetUtcNow() ? entry : null;

    /// <summary>
    /// Keeps <paramref name="application"/>, read from the database just now, for <see cref="CacheOptions.ClientSeconds"/>; unless the
    /// cache was cleared since <paramref name="readGeneration"/> (<see cref="Generation"/> before the read), when the copy may predate
    /// the change that cleared it and is only returned.
    /// </summary>
    public Entry Add(OpenIddictEntityFrameworkCoreApplication application, bool enabled, long readGeneration)
    {
        var entry = new Entry(application, enabled, time.GetUtcNow().AddSeconds(options.Cache.ClientSeconds));
        if (IsEnabled && application.ClientId is { } clientId)
        {
            entries[clientId] = entry;
            // A Clear that ran during the read, or while adding: the copy may be older than that change, so it is not kept.
            if (Generation != readGeneration) entries.TryRemove(new KeyValuePair<string, Entry>(clientId, entry));
        }
        return entry;
    }

    /// <summary>Forgets every client: called after any change to a client made through this node.</summary>
    public void Clear()
    {
        Interlocked.Increment(ref generation);
        entries.Clear();
    }
}
