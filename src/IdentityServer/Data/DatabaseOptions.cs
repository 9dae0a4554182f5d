namespace IdentityServer.Data;

/// <summary>Section <c>IdentityServer:Database</c>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>Configuration section path.</summary>
    public const string SectionName = "IdentityServer:Database";

    /// <summary><c>Sqlite</c> (default: one machine, no set-up) or <c>PostgreSql</c> (several nodes sharing one database).</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>
    /// Provider connection string. SQLite default: a file <c>data/identityserver.db</c> under the working directory. PostgreSQL: required,
    /// an Npgsql connection string (<c>Host=…;Port=5432;Database=…;Username=…;Password=…</c>).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations when the server starts (default true). The <c>migrate</c> verb does it on demand.</summary>
    public bool MigrateOnStartup { get; set; } = true;
}
