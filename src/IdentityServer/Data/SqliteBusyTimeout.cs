using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace IdentityServer.Data;

/// <summary>
/// Lets SQLite itself wait for a busy database (<c>sqlite3_busy_timeout</c>, https://sqlite.org/c3ref/busy_timeout.html) on every
/// connection EF opens, for as long as the connection's command timeout (<see cref="SqliteConnection.DefaultTimeout"/>, seconds;
/// 30 by default; 0, no limit, waits without one).
/// <para>
/// Without it, a writer that finds another writer in the database gets <c>SQLITE_BUSY</c> at once, and Microsoft.Data.Sqlite retries
/// after blocking its thread for 150 ms. Under concurrent writes (each refresh token is a few) that sleep set the pace: measured here,
/// 64 refresh-token grants per second with a median of 394 ms. SQLite's own handler retries within milliseconds. The total wait is
/// bounded as before: past the timeout the command fails with <see cref="SqliteException"/> (<c>SQLITE_BUSY</c>).
/// </para>
/// </summary>
public sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    /// <inheritdoc />
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    /// <inheritdoc />
    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    private static void Apply(DbConnection connection)
    {
        if (connection is not SqliteConnection { Handle: { } handle } sqlite) return;
        // 0 means "no limit" to Microsoft.Data.Sqlite but "do not wait" to SQLite; a limit too long for milliseconds in an int is no limit.
        var milliseconds = sqlite.DefaultTimeout is <= 0 or > int.MaxValue / 1000 ? int.MaxValue : sqlite.DefaultTimeout * 1000;
        SqliteException.ThrowExceptionForRC(SQLitePCL.raw.sqlite3_busy_timeout(handle, milliseconds), handle);
    }
}
