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
/// The bound on staleness: a change made through this node (admin UI, API, command line, configuration) empties the cache at once
/// (<see cref="Clear"/>); a change made through another node is seen here within <see cref="CacheOptions.ClientSeconds"/>. A client_id
/// that is not found is not remembered, so guessing names cannot fill the cache: its size is bounded by the number of clients.
/// </para>
/// The cached entities are detached from every DbContext and shared by concurrent requests: they are read, never changed (administration
/// reads its own copy through <see cref="ClientApplicationManager.FindAnyByClientIdAsync"/>).
/// </summary>
public sealed class ClientCache(IdentityServerOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.Ordinal);

    /// <summary>A client as read, whether it is enabled (parsed once), and when the copy stops being used.</summary>
    public sealed record Entry(OpenIddictEntityFrameworkCoreApplication Application, bool Enabled, DateTimeOffset ExpiresAt);

    /// <summary>False when <see cref="CacheOptions.ClientSeconds"/> is 0: every lookup reads the database.</summary>
    public bool IsEnabled => options.Cache.ClientSeconds > 0;

    /// <summary>The unexpired copy of <paramref name="clientId"/>, or null (then the caller reads the database and calls <see cref="Add"/>).</summary>
    public Entry? Find(string clientId) =>
        entries.TryGetValue(clientId, out var entry) && entry.ExpiresAt > time.GetUtcNow() ? entry : null;

    /// <summary>Keeps <paramref name="application"/>, read from the database just now, for <see cref="CacheOptions.ClientSeconds"/>.</summary>
    public Entry Add(OpenIddictEntityFrameworkCoreApplication application, bool enabled)
    {
        var entry = new Entry(application, enabled, time.GetUtcNow().AddSeconds(options.Cache.ClientSeconds));
        if (IsEnabled && application.ClientId is { } clientId) entries[clientId] = entry;
        return entry;
    }

    /// <summary>Forgets every client: called after any change to a client made through this node.</summary>
    public void Clear() => entries.Clear();
}
