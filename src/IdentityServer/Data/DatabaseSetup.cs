using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data;

/// <summary>Registers <see cref="IdentityServerDbContext"/> for the configured provider.</summary>
public static class DatabaseSetup
{
    /// <summary>Name of the assembly holding the SQLite migrations.</summary>
    public const string SqliteMigrationsAssembly = "IdentityServer.Migrations.Sqlite";

    /// <summary>
    /// Binds <see cref="DatabaseOptions"/> and adds the DbContext, configured when first resolved. An unknown provider
    /// throws <see cref="InvalidOperationException"/> then (at start-up, from the migration step). A relative SQLite
    /// <c>Data Source</c> is resolved against the content root and its folder created.
    /// </summary>
    public static IServiceCollection AddIdentityServerDatabase(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName);
        services.AddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value);
        services.AddDbContext<IdentityServerDbContext>((sp, o) =>
        {
            var options = sp.GetRequiredService<DatabaseOptions>();
            switch (options.Provider)
            {
                case "Sqlite":
                    var cs = SqliteConnectionString(options.ConnectionString, Environment.CurrentDirectory);
                    o.UseSqlite(cs, b => b.MigrationsAssembly(SqliteMigrationsAssembly));
                    break;
                default:
                    throw new InvalidOperationException($"IdentityServer:Database:Provider '{options.Provider}' is not supported; use 'Sqlite'.");
            }
        });
        return services;
    }

    private static string SqliteConnectionString(string? configured, string baseDirectory)
    {
        var builder = new SqliteConnectionStringBuilder(configured ?? "Data Source=data/identityserver.db");
        if (builder.DataSource != ":memory:" && !builder.DataSource.StartsWith("file:", StringComparison.Ordinal))
        {
            var path = Path.IsPathRooted(builder.DataSource) ? builder.DataSource : Path.Combine(baseDirectory, builder.DataSource);
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            builder.DataSource = path;
        }
        return builder.ToString();
    }

    /// <summary>Applies pending migrations (EF takes a database lock, so concurrent nodes are safe) and, on SQLite, turns on WAL.</summary>
    public static async Task MigrateAsync(IdentityServerDbContext db, CancellationToken ct = default)
    {
        await db.Database.MigrateAsync(ct);
        if (db.Database.ProviderName == "Microsoft.EntityFrameworkCore.Sqlite")
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
    }
}
