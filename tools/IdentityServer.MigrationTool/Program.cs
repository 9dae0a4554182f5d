// Scaffolds an EF Core migration for a provider into migrations/IdentityServer.Migrations.<Provider>.
// Usage (from the repository root), once per provider:
//   dotnet run --project tools/IdentityServer.MigrationTool -- Sqlite <MigrationName>
//   dotnet run --project tools/IdentityServer.MigrationTool -- PostgreSql <MigrationName>
// (No database is needed: the model is compared with the provider's last snapshot.)
using IdentityServer.Data;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.EntityFrameworkCore.Sqlite.Design.Internal;
using Microsoft.Extensions.DependencyInjection;

if (args.Length != 2 || args[0] is not ("Sqlite" or "PostgreSql"))
{
    Console.Error.WriteLine("usage: MigrationTool Sqlite|PostgreSql <MigrationName>");
    return 2;
}
var providerName = args[0];
var name = args[1];
var assembly = "IdentityServer.Migrations." + providerName;
var projectDir = Path.GetFullPath(Path.Combine("migrations", assembly));
if (!Directory.Exists(projectDir))
{
    Console.Error.WriteLine($"run from the repository root ({projectDir} not found)");
    return 2;
}

// Identity reads its schema version from the application's services; the host sets the same value.
using var appServices = new ServiceCollection()
    .Configure<IdentityOptions>(o => o.Stores.SchemaVersion = IdentitySchemaVersions.Version3)
    .BuildServiceProvider();
var builder = new DbContextOptionsBuilder<IdentityServerDbContext>();
if (providerName == "Sqlite") builder.UseSqlite("Data Source=:memory:", b => b.MigrationsAssembly(assembly));
else builder.UseNpgsql("Host=localhost;Database=scaffold", b => b.MigrationsAssembly(assembly));
var options = builder.UseApplicationServiceProvider(appServices).Options;
using var context = new IdentityServerDbContext(options);

var services = new ServiceCollection()
    .AddEntityFrameworkDesignTimeServices()
    .AddDbContextDesignTimeServices(context);
if (providerName == "Sqlite") new SqliteDesignTimeServices().ConfigureDesignTimeServices(services);
else new Npgsql.EntityFrameworkCore.PostgreSQL.Design.Internal.NpgsqlDesignTimeServices().ConfigureDesignTimeServices(services);
using var provider = services.BuildServiceProvider();

var scaffolder = provider.GetRequiredService<IMigrationsScaffolder>();
var migration = scaffolder.ScaffoldMigration(name, assembly, "Migrations", "C#");
var files = scaffolder.Save(projectDir, migration, Path.Combine(projectDir, "Migrations"));
Console.WriteLine(files.MigrationFile);
Console.WriteLine(files.MetadataFile);
Console.WriteLine(files.SnapshotFile);
return 0;
