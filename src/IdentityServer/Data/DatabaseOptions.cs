namespace IdentityServer.Data;

/// <summary>Section <c>IdentityServer:Database</c>.</summary>
public sealed class DatabaseOptions
{
    /// <summary>Configuration section path.</summary>
    public const string SectionName = "IdentityServer:Database";

    /// <summary><c>Sqlite</c> (default). <c>PostgreSql</c> arrives with multi-node support.</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Provider connection string. Default: a SQLite file <c>data/identityserver.db</c> under the working directory.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Apply pending migrations when the server starts (default true). The <c>migrate</c> verb does it on demand.</summary>
    public bool MigrateOnStartup { get; set; } = true;
}
