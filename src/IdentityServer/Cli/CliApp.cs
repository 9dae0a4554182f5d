using System.CommandLine;
using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Hosting;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Cli;

/// <summary>
/// Command-line verbs on the server's own configuration and database:
/// <c>migrate</c>; <c>users add</c>; <c>clients add</c>, <c>clients list [--json]</c>.
/// Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage.
/// </summary>
public static class CliApp
{
    private static readonly string[] Verbs = ["migrate", "users", "clients", "--help", "-h", "-?"];

    /// <summary>True when <paramref name="firstArg"/> selects a command rather than serving.</summary>
    public static bool IsVerb(string firstArg) => Verbs.Contains(firstArg);

    /// <summary>
    /// Parses and runs the command; <paramref name="output"/> and <paramref name="error"/> default to the console.
    /// <paramref name="hostArgs"/> are configuration arguments for the host (e.g. <c>--IdentityServer:Database:ConnectionString=…</c>);
    /// otherwise configuration comes from appsettings and environment variables as when serving.
    /// </summary>
    public static Task<int> RunAsync(string[] args, TextWriter? output = null, TextWriter? error = null, string[]? hostArgs = null)
    {
        HostArgs.Value = hostArgs ?? [];
        var o = output ?? Console.Out;
        var e = error ?? Console.Error;
        var root = new RootCommand("IdentityServer: an OpenID Connect provider. With no command it serves.");
        root.Subcommands.Add(Migrate(o));
        root.Subcommands.Add(Users(o, e));
        root.Subcommands.Add(Clients(o, e));
        var parse = root.Parse(args);
        return parse.InvokeAsync(new InvocationConfiguration { Output = o, Error = e });
    }

    private static readonly AsyncLocal<string[]> HostArgs = new();

    /// <summary>Builds the server's services (configuration, database) without serving.</summary>
    private static WebApplication BuildHost() => ServerSetup.CreateBuilder(HostArgs.Value ?? []).Build();

    private static Command Migrate(TextWriter o)
    {
        var cmd = new Command("migrate", "Apply pending database migrations and exit.");
        cmd.SetAction(async (_, ct) =>
        {
            await using var host = BuildHost();
            using var scope = host.Services.CreateScope();
            var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
            var pending = (await db.Database.GetPendingMigrationsAsync(ct)).ToList();
            await DatabaseSetup.MigrateAsync(db, ct);
            o.WriteLine(pending.Count == 0 ? "Database is up to date." : $"Applied {pending.Count} migration(s): {string.Join(", ", pending)}");
            return 0;
        });
        return cmd;
    }

    private static Command Users(TextWriter o, TextWriter e)
    {
        var userName = new Option<string>("--username") { Description = "User name", Required = true };
        var email = new Option<string?>("--email") { Description = "E-mail address (marked verified)" };
        var password = new Option<string?>("--password") { Description = "Password (≥ 12 characters). Omit to read one line from standard input." };
        var roles = new Option<string[]>("--role") { Description = "Role (repeatable)", AllowMultipleArgumentsPerToken = false };
        var add = new Command("add", "Create a user.") { userName, email, password, roles };
        add.SetAction(async (p, ct) =>
        {
            await using var host = BuildHost();
            using var scope = await OpenAsync(host, ct);
            var users = scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>();
            var roleManager = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
            var secret = p.GetValue(password) ?? Console.In.ReadLine();
            if (string.IsNullOrEmpty(secret)) { e.WriteLine("error: no password given (use --password or standard input)."); return 2; }
            var user = new ApplicationUser { UserName = p.GetValue(userName), Email = p.GetValue(email), EmailConfirmed = p.GetValue(email) is not null };
            var result = await users.CreateAsync(user, secret);
            if (!result.Succeeded)
            {
                foreach (var err in result.Errors) e.WriteLine($"error: {err.Description}");
                return 1;
            }
            foreach (var role in p.GetValue(roles) ?? [])
            {
                if (!await roleManager.RoleExistsAsync(role)) await roleManager.CreateAsync(new IdentityRole(role));
                await users.AddToRoleAsync(user, role);
            }
            o.WriteLine($"Created user {user.UserName} (sub {user.Id}).");
            return 0;
        });
        return new Command("users", "Manage users.") { add };
    }

    private static Command Clients(TextWriter o, TextWriter e)
    {
        var clientId = new Option<string>("--client-id") { Description = "The client_id", Required = true };
        var displayName = new Option<string?>("--display-name") { Description = "Name shown to people" };
        var redirectUris = new Option<string[]>("--redirect-uri") { Description = "Redirect URI (repeatable, exact match)" };
        var postLogout = new Option<string[]>("--post-logout-redirect-uri") { Description = "Post-logout redirect URI (repeatable)" };
        var grantTypes = new Option<string[]>("--grant-type") { Description = "authorization_code, refresh_token, client_credentials or urn:ietf:params:oauth:grant-type:device_code (repeatable)" };
        var scopes = new Option<string[]>("--scope") { Description = "Allowed scope (repeatable)" };
        var isPublic = new Option<bool>("--public") { Description = "Public client (no secret; PKCE only)" };
        var consent = new Option<bool>("--require-consent") { Description = "Ask people to consent" };
        var mfa = new Option<bool>("--require-mfa") { Description = "Demand a second factor or a passkey" };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };

        var add = new Command("add", "Register a client. A confidential client's secret is printed once and stored only as a hash.")
            { clientId, displayName, redirectUris, postLogout, grantTypes, scopes, isPublic, consent, mfa, json };
        add.SetAction(async (p, ct) =>
        {
            var secret = p.GetValue(isPublic) ? null : ClientSecretHasher.GenerateSecret();
            var definition = new ClientOptions
            {
                ClientId = p.GetValue(clientId)!, ClientSecret = secret, DisplayName = p.GetValue(displayName),
                RedirectUris = [.. p.GetValue(redirectUris) ?? []], PostLogoutRedirectUris = [.. p.GetValue(postLogout) ?? []],
                GrantTypes = [.. (p.GetValue(grantTypes) is { Length: > 0 } g ? g : [GrantTypes.AuthorizationCode])],
                Scopes = [.. p.GetValue(scopes) ?? []], RequireConsent = p.GetValue(consent), RequireMfa = p.GetValue(mfa),
            };
            var problems = IdentityServerOptionsValidator.ValidateClient(definition, "client").ToList();
            if (problems.Count > 0) { problems.ForEach(x => e.WriteLine($"error: {x}")); return 2; }

            await using var host = BuildHost();
            using var scope = await OpenAsync(host, ct);
            var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
            if (await db.Clients.AnyAsync(c => c.ClientId == definition.ClientId, ct))
            {
                e.WriteLine($"error: a client with client_id '{definition.ClientId}' already exists.");
                return 1;
            }
            var now = scope.ServiceProvider.GetRequiredService<TimeProvider>().GetUtcNow();
            var entity = new ClientEntity
            {
                ClientId = definition.ClientId, DisplayName = definition.DisplayName, RedirectUris = definition.RedirectUris,
                PostLogoutRedirectUris = definition.PostLogoutRedirectUris, GrantTypes = definition.GrantTypes, Scopes = definition.Scopes,
                RequireConsent = definition.RequireConsent, RequireMfa = definition.RequireMfa, Source = ClientSources.Admin, CreatedAt = now, UpdatedAt = now,
            };
            if (secret is not null) entity.Secrets.Add(new ClientSecretEntity { Hash = ClientSecretHasher.Hash(secret), Description = "cli", CreatedAt = now });
            db.Clients.Add(entity);
            await db.SaveChangesAsync(ct);
            if (p.GetValue(json))
                o.WriteLine(JsonSerializer.Serialize(new { client_id = entity.ClientId, client_secret = secret }));
            else
            {
                o.WriteLine($"Created client {entity.ClientId} ({(secret is null ? "public" : "confidential")}).");
                if (secret is not null) o.WriteLine($"client_secret: {secret}\nStore it now: it is not shown again.");
            }
            return 0;
        });

        var list = new Command("list", "List clients.") { json };
        list.SetAction(async (p, ct) =>
        {
            await using var host = BuildHost();
            using var scope = await OpenAsync(host, ct);
            var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
            var clients = await db.Clients.AsNoTracking().Include(c => c.Secrets).OrderBy(c => c.ClientId).ToListAsync(ct);
            if (p.GetValue(json))
            {
                o.WriteLine(JsonSerializer.Serialize(clients.Select(c => new
                {
                    client_id = c.ClientId, display_name = c.DisplayName, enabled = c.Enabled,
                    type = c.Secrets.Count > 0 ? "confidential" : "public", grant_types = c.GrantTypes,
                    redirect_uris = c.RedirectUris, scopes = c.Scopes, require_consent = c.RequireConsent, require_mfa = c.RequireMfa, source = c.Source,
                })));
                return 0;
            }
            if (clients.Count == 0) { o.WriteLine("No clients."); return 0; }
            o.WriteLine($"{"CLIENT ID",-28} {"TYPE",-13} {"SOURCE",-14} GRANT TYPES");
            foreach (var c in clients)
                o.WriteLine($"{c.ClientId,-28} {(c.Secrets.Count > 0 ? "confidential" : "public"),-13} {c.Source,-14} {string.Join(",", c.GrantTypes)}");
            return 0;
        });
        return new Command("clients", "Manage clients.") { add, list };
    }

    /// <summary>A service scope on a migrated database.</summary>
    private static async Task<IServiceScope> OpenAsync(WebApplication host, CancellationToken ct)
    {
        var scope = host.Services.CreateScope();
        if (scope.ServiceProvider.GetRequiredService<DatabaseOptions>().MigrateOnStartup)
            await DatabaseSetup.MigrateAsync(scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>(), ct);
        return scope;
    }
}
