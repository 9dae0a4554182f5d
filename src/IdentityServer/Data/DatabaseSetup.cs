using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace IdentityServer.Data;

/// <summary>Registers <see cref="IdentityServerDbContext"/> for the configured provider and brings the schema up to date.</summary>
public static class DatabaseSetup
{
    /// <summary>The embedded provider, for one machine (the default).</summary>
    public const string Sqlite = "Sqlite";

    /// <summary>The provider for several nodes sharing one database.</summary>
    public const string PostgreSql = "PostgreSql";

    /// <summary>Whether <paramref name="provider"/> (<c>IdentityServer:Database:Provider</c>) is one this server can use.</summary>
    public static bool IsSupported(string? provider) => provider is Sqlite or PostgreSql;

    /// <summary>The configuration error for any other provider.</summary>
    public const string UnsupportedProvider = DatabaseOptions.SectionName + ":Provider is not supported; use 'Sqlite' or 'PostgreSql'.";

    /// <summary>Name of the assembly holding the PostgreSQL migrations.</summary>
    public const string PostgreSqlMigrationsAssembly = "IdentityServer.Migrations.PostgreSql";

    /// <summary>Name of the assembly holding the SQLite migrations.</summary>
    public const string SqliteMigrationsAssembly = "IdentityServer.Migrations.Sqlite";

    /// <summary>The migration that adds OpenIddict's tables next to the previous release's protocol tables.</summary>
    public const string MoveToOpenIddict = "20261130120000_MoveToOpenIddict";

    /// <summary>The migration that drops the previous release's protocol tables, once <see cref="LegacyUpgrade"/> carried their data over.</summary>
    public const string DropLegacyProtocolTables = "20261130120100_DropLegacyProtocolTables";

    /// <summary>
    /// Binds <see cref="DatabaseOptions"/> (validated at start-up: an unknown provider is a configuration error) and adds the DbContext
    /// pool, configured when first resolved. A relative SQLite
    /// <c>Data Source</c> is resolved against the working directory and its folder created; SQLite connections wait for a busy
    /// database themselves (<see cref="SqliteBusyTimeout"/>).
    /// </summary>
    public static IServiceCollection AddIdentityServerDatabase(this IServiceCollection services)
    {
        services.AddOptions<DatabaseOptions>().BindConfiguration(DatabaseOptions.SectionName)
            .Validate(o => IsSupported(o.Provider), UnsupportedProvider).ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value);
        // Pooled: the options are built once and contexts are reused (reset between requests), instead of a new context and options
        // per scope.
        services.AddDbContextPool<IdentityServerDbContext>((sp, o) =>
        {
            var options = sp.GetRequiredService<DatabaseOptions>();
            switch (options.Provider)
            {
                case Sqlite:
                    var cs = SqliteConnectionString(options.ConnectionString, Environment.CurrentDirectory);
                    o.UseSqlite(cs, b => b.MigrationsAssembly(SqliteMigrationsAssembly)).AddInterceptors(BusyTimeout);
                    break;
                case PostgreSql:
                    if (string.IsNullOrWhiteSpace(options.ConnectionString))
                        throw new Hosting.ConfigurationException($"{DatabaseOptions.SectionName}:ConnectionString is required for PostgreSql.");
                    o.UseNpgsql(options.ConnectionString, b => b.MigrationsAssembly(PostgreSqlMigrationsAssembly));
                    break;
                default:
                    throw new Hosting.ConfigurationException(UnsupportedProvider);
            }
        });
        services.AddScoped<LegacyUpgrade>();
        return services;
    }

    private static readonly SqliteBusyTimeout BusyTimeout = new();

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

    /// <summary>
    /// Applies pending migrations (EF takes a database lock per step, so concurrent nodes are safe) and, on SQLite, turns on WAL. A
    /// database of the previous release is upgraded in three steps: migrate to <see cref="MoveToOpenIddict"/>, carry clients and
    /// consents over (<see cref="LegacyUpgrade"/>, idempotent), then migrate on, which drops the old protocol tables. With nothing
    /// pending, EF's migrator is not run at all: it would take the migration lock and compare the model with the last snapshot, 0.18 s
    /// of every start on SQLite (a test keeps model and migrations in step instead).
    /// </summary>
    /// <param name="services">A scope's services (the DbContext, OpenIddict's managers).</param>
    /// <returns>The migrations applied, by name.</returns>
    public static async Task<IReadOnlyList<string>> MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        var db = services.GetRequiredService<IdentityServerDbContext>();
        var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
        if (pending.Contains(DropLegacyProtocolTables))
        {
            await db.GetService<IMigrator>().MigrateAsync(MoveToOpenIddict, ct);
            await services.GetRequiredService<LegacyUpgrade>().RunAsync(ct);
        }
        if (pending.Count > 0) await db.Database.MigrateAsync(ct);
        if (db.Database.ProviderName == "Microsoft.EntityFrameworkCore.Sqlite")
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        return pending;
    }
}
