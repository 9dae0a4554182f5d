using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// The database provider of this test run, and throwaway databases on it. The suite runs once per provider (scripts/test.sh): on
/// SQLite by default, on PostgreSQL when <c>IDSRV_TEST_POSTGRES</c> holds the base connection string of a running server (a
/// throwaway cluster; each test database is created on first use by the server's migrations and dropped afterwards).
/// </summary>
public static class TestDatabase
{
    /// <summary>The base connection string of the PostgreSQL server for this run, or null for a SQLite run.</summary>
    public static string? PostgresServer { get; } = Environment.GetEnvironmentVariable("IDSRV_TEST_POSTGRES") is { Length: > 0 } s ? s : null;

    /// <summary><c>Sqlite</c> or <c>PostgreSql</c>: the provider of this run.</summary>
    public static string Provider => PostgresServer is null ? "Sqlite" : "PostgreSql";

    /// <summary>A new database's name on <paramref name="provider"/>: a temporary file for SQLite, a unique database name for PostgreSQL.</summary>
    public static string NewName(string provider) => provider == "Sqlite"
        ? Path.Combine(Path.GetTempPath(), $"idsrv-test-{Guid.NewGuid():N}.db")
        : $"idsrv_test_{Guid.NewGuid():N}";

    /// <summary>The connection string of database <paramref name="name"/> on <paramref name="provider"/>.</summary>
    public static string ConnectionString(string provider, string name) => provider == "Sqlite"
        ? $"Data Source={name}"
        : $"{PostgresServer ?? throw new InvalidOperationException("IDSRV_TEST_POSTGRES is not set")};Database={name}";

    /// <summary>An open ADO.NET connection to database <paramref name="name"/>, for tests that read what the server stored.</summary>
    public static DbConnection Open(string provider, string name)
    {
        DbConnection connection = provider == "Sqlite"
            ? new SqliteConnection(ConnectionString(provider, name) + ";Pooling=False")
            : new NpgsqlConnection(ConnectionString(provider, name) + ";Pooling=false");
        connection.Open();
        return connection;
    }

    /// <summary>The tables of database <paramref name="name"/>, by name.</summary>
    public static List<string> Tables(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = connection is SqliteConnection
            ? "SELECT name FROM sqlite_master WHERE type = 'table'"
            : "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'";
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read()) tables.Add(reader.GetString(0));
        return tables;
    }

    /// <summary>Every value of every row of every table, as text: to show that a secret is stored nowhere in the clear.</summary>
    public static string Dump(string provider, string name)
    {
        using var connection = Open(provider, name);
        var text = new System.Text.StringBuilder();
        foreach (var table in Tables(connection))
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = command.ExecuteReader();
            while (reader.Read())
                for (var i = 0; i < reader.FieldCount; i++)
                    text.Append(reader.IsDBNull(i) ? "" : reader.GetValue(i) is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : Convert.ToString(reader.GetValue(i))).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Deletes database <paramref name="name"/>: the SQLite file and its WAL companions, or the PostgreSQL database.</summary>
    public static void Delete(string provider, string name)
    {
        if (provider == "Sqlite")
        {
            SqliteConnection.ClearAllPools();
            foreach (var f in new[] { name, name + "-wal", name + "-shm" })
                try { File.Delete(f); } catch (IOException) { }
            return;
        }
        NpgsqlConnection.ClearAllPools();
        using var connection = new NpgsqlConnection(PostgresServer + ";Database=postgres;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)";
        command.ExecuteNonQuery();
    }
}
