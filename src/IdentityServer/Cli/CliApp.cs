using System.CommandLine;
using System.Text.Json;
using IdentityServer.Admin;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Hosting;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol;
using IdentityServer.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Cli;

/// <summary>
/// Command-line verbs on the server's own configuration and database, through the same administration services as
/// the admin UI and API (so the same rules and the same audit records, with the operating-system account as actor):
/// <c>migrate</c>; <c>users add|list|lock|unlock|reset-password|remove</c>;
/// <c>clients add|list|show|update|rotate-secret|remove</c>; <c>keys list|rotate</c>. Every verb but <c>migrate</c> takes
/// <c>--json</c> for scripts.
/// Exit codes: 0 success, 1 the operation failed (message on stderr), 2 bad usage or a configuration error.
/// </summary>
public static class CliApp
{
    private static readonly string[] Verbs = ["migrate", "users", "clients", "keys", "--help", "-h", "-?"];

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
        root.Subcommands.Add(Keys(o));
        var parse = root.Parse(args);
        return InvokeAsync(parse, o, e);
    }

    private static async Task<int> InvokeAsync(ParseResult parse, TextWriter o, TextWriter e)
    {
        try { return await parse.InvokeAsync(new InvocationConfiguration { Output = o, Error = e, EnableDefaultExceptionHandler = false }); }
        catch (Exception ex) when (ConfigurationErrors.Of(ex) is { Count: > 0 } errors) { return ConfigurationErrors.Report(errors, e); }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            e.WriteLine(ex); // what System.CommandLine's own handler would print
            return 1;
        }
    }

    private static readonly AsyncLocal<string[]> HostArgs = new();

    /// <summary>Builds the server's services (configuration, database) without serving.</summary>
    private static WebApplication BuildHost()
    {
        var builder = ServerSetup.CreateBuilder(HostArgs.Value ?? []);
        ConfigurationErrors.Check(builder.Configuration, builder.Environment);
        return builder.Build();
    }

    private static Command Migrate(TextWriter o)
    {
        var cmd = new Command("migrate", "Apply pending database migrations and exit.");
        cmd.SetAction(async (_, ct) =>
        {
            await using var host = BuildHost();
            using var scope = host.Services.CreateScope();
            var pending = await DatabaseSetup.MigrateAsync(scope.ServiceProvider, ct);
            o.WriteLine(pending.Count == 0 ? "Database is up to date." : $"Applied {pending.Count} migration(s): {string.Join(", ", pending)}");
            return 0;
        });
        return cmd;
    }

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Runs <paramref name="action"/> with a service scope on the migrated database.</summary>
    private static async Task<int> WithScopeAsync(Func<IServiceProvider, Task<int>> action, CancellationToken ct)
    {
        await using var host = BuildHost();
        using var scope = await OpenAsync(host, ct);
        return await action(scope.ServiceProvider);
    }

    /// <summary>Prints a failed admin operation on standard error; 1 for "did not happen", 2 for invalid input.</summary>
    private static int Fail<T>(AdminResult<T> result, TextWriter e)
    {
        foreach (var error in result.Errors ?? []) e.WriteLine($"error: {error}");
        return result.Failure == AdminFailure.Invalid ? 2 : 1;
    }

    private static Command Users(TextWriter o, TextWriter e)
    {
        var userName = new Option<string>("--username") { Description = "User name", Required = true };
        var email = new Option<string?>("--email") { Description = "E-mail address (marked verified)" };
        var password = new Option<string?>("--password") { Description = "Password (≥ 12 characters). Omit to read one line from standard input." };
        var roles = new Option<string[]>("--role") { Description = "Role (repeatable)", AllowMultipleArgumentsPerToken = false };
        var search = new Option<string?>("--search") { Description = "Only users whose name or e-mail contains this" };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };

        var add = new Command("add", "Create a user.") { userName, email, password, roles, json };
        add.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var secret = p.GetValue(password) ?? Console.In.ReadLine();
            if (string.IsNullOrEmpty(secret)) { e.WriteLine("error: no password given (use --password or standard input)."); return 2; }
            var result = await sp.GetRequiredService<UserAdministration>().CreateAsync(p.GetValue(userName)!, p.GetValue(email), secret,
                p.GetValue(roles) ?? [], AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            PrintUser(o, result.Value!, p.GetValue(json), $"Created user {result.Value!.UserName} (sub {result.Value.Id}).");
            return 0;
        }, ct));

        var list = new Command("list", "List users.") { search, json };
        list.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var users = await sp.GetRequiredService<UserAdministration>().ListAsync(p.GetValue(search), ct: ct);
            if (p.GetValue(json)) { o.WriteLine(JsonSerializer.Serialize(users, Json)); return 0; }
            if (users.Count == 0) { o.WriteLine("No users."); return 0; }
            o.WriteLine($"{"USER NAME",-24} {"E-MAIL",-30} {"LOCKED",-7} {"2FA",-4} {"PASSKEYS",-9} ROLES");
            foreach (var u in users)
                o.WriteLine($"{u.UserName,-24} {u.Email,-30} {(u.LockedOut ? "yes" : "no"),-7} {(u.TwoFactorEnabled ? "on" : "off"),-4} {u.Passkeys,-9} {string.Join(",", u.Roles)}");
            return 0;
        }, ct));

        Command Change(string name, string description, string done, Func<UserAdministration, string, CancellationToken, Task<AdminResult<UserView>>> change, params Option[] extra)
        {
            var cmd = new Command(name, description) { userName, json };
            foreach (var option in extra) cmd.Options.Add(option);
            cmd.SetAction((p, ct) => WithScopeAsync(async sp =>
            {
                var result = await change(sp.GetRequiredService<UserAdministration>(), p.GetValue(userName)!, ct);
                if (!result.Succeeded) return Fail(result, e);
                PrintUser(o, result.Value!, p.GetValue(json), $"{done} {result.Value!.UserName}.");
                return 0;
            }, ct));
            return cmd;
        }

        var lockCmd = Change("lock", "Lock a user out until unlocked.", "Locked", (a, n, ct) => a.LockAsync(n, AdminActor.CommandLine, ct));
        var unlock = Change("unlock", "End a user's lockout.", "Unlocked", (a, n, ct) => a.UnlockAsync(n, AdminActor.CommandLine, ct));
        var remove = Change("remove", "Delete a user.", "Deleted", (a, n, ct) => a.DeleteAsync(n, AdminActor.CommandLine, ct));
        var resetPassword = new Command("reset-password", "Set a new password (read from standard input unless --password).") { userName, password, json };
        resetPassword.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var secret = p.GetValue(password) ?? Console.In.ReadLine();
            if (string.IsNullOrEmpty(secret)) { e.WriteLine("error: no password given (use --password or standard input)."); return 2; }
            var result = await sp.GetRequiredService<UserAdministration>().ResetPasswordAsync(p.GetValue(userName)!, secret, AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            PrintUser(o, result.Value!, p.GetValue(json), $"Password reset for {result.Value!.UserName}.");
            return 0;
        }, ct));
        return new Command("users", "Manage users.") { add, list, lockCmd, unlock, resetPassword, remove };
    }

    private static void PrintUser(TextWriter o, UserView user, bool json, string human) =>
        o.WriteLine(json ? JsonSerializer.Serialize(user, Json) : human);

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
        var disabled = new Option<bool>("--disabled") { Description = "Disable the client (update)" };
        var accessLifetime = new Option<int?>("--access-token-lifetime") { Description = "Access token lifetime, seconds (default: the server's)" };
        var refreshLifetime = new Option<int?>("--refresh-token-lifetime") { Description = "Refresh token sliding lifetime, seconds (default: the server's)" };
        var search = new Option<string?>("--search") { Description = "Only clients whose id or name contains this" };
        var overlap = new Option<int>("--overlap-days") { Description = "Days the previous secrets keep working (default 7; 0 ends them now)", DefaultValueFactory = _ => 7 };
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };

        ClientDefinition Definition(ParseResult p) => new()
        {
            ClientId = p.GetValue(clientId)!, DisplayName = p.GetValue(displayName), Confidential = !p.GetValue(isPublic),
            Enabled = !p.GetValue(disabled), RedirectUris = p.GetValue(redirectUris) ?? [], PostLogoutRedirectUris = p.GetValue(postLogout) ?? [],
            GrantTypes = p.GetValue(grantTypes) is { Length: > 0 } g ? g : [OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode],
            Scopes = p.GetValue(scopes) ?? [], RequireConsent = p.GetValue(consent), RequireMfa = p.GetValue(mfa),
            AccessTokenLifetimeSeconds = p.GetValue(accessLifetime), RefreshTokenLifetimeSeconds = p.GetValue(refreshLifetime),
        };

        var add = new Command("add", "Register a client. A confidential client's secret is printed once and stored only as a hash.")
            { clientId, displayName, redirectUris, postLogout, grantTypes, scopes, isPublic, consent, mfa, accessLifetime, refreshLifetime, json };
        add.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var result = await sp.GetRequiredService<ClientAdministration>().CreateAsync(Definition(p), AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            var (client, secret) = (result.Value!.Client, result.Value.Secret);
            if (p.GetValue(json)) o.WriteLine(JsonSerializer.Serialize(new { client_id = client.ClientId, client_secret = secret, client }, Json));
            else
            {
                o.WriteLine($"Created client {client.ClientId} ({client.Type}).");
                if (secret is not null) o.WriteLine($"client_secret: {secret}\nStore it now: it is not shown again.");
            }
            return 0;
        }, ct));

        var update = new Command("update", "Replace a client's settings (those not given become empty or off; the type stays).")
            { clientId, displayName, redirectUris, postLogout, grantTypes, scopes, consent, mfa, disabled, accessLifetime, refreshLifetime, json };
        update.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var result = await sp.GetRequiredService<ClientAdministration>().UpdateAsync(p.GetValue(clientId)!, Definition(p), AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            PrintClient(o, result.Value!, p.GetValue(json), $"Updated client {result.Value!.ClientId}.");
            return 0;
        }, ct));

        var list = new Command("list", "List clients.") { search, json };
        list.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var clients = await sp.GetRequiredService<ClientAdministration>().ListAsync(p.GetValue(search), ct);
            if (p.GetValue(json)) { o.WriteLine(JsonSerializer.Serialize(clients, Json)); return 0; }
            if (clients.Count == 0) { o.WriteLine("No clients."); return 0; }
            o.WriteLine($"{"CLIENT ID",-28} {"TYPE",-13} {"SOURCE",-14} {"ENABLED",-8} GRANT TYPES");
            foreach (var c in clients)
                o.WriteLine($"{c.ClientId,-28} {c.Type,-13} {c.Source,-14} {(c.Enabled ? "yes" : "no"),-8} {string.Join(",", c.GrantTypes)}");
            return 0;
        }, ct));

        var show = new Command("show", "Show one client (never its secrets).") { clientId, json };
        show.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var client = await sp.GetRequiredService<ClientAdministration>().FindAsync(p.GetValue(clientId)!, ct);
            if (client is null) { e.WriteLine($"error: No client '{p.GetValue(clientId)}'."); return 1; }
            PrintClient(o, client, p.GetValue(json), string.Join("\n",
                $"client_id:      {client.ClientId}", $"display name:   {client.DisplayName}", $"type:           {client.Type}",
                $"enabled:        {(client.Enabled ? "yes" : "no")}", $"source:         {client.Source}",
                $"grant types:    {string.Join(" ", client.GrantTypes)}", $"scopes:         {string.Join(" ", client.Scopes)}",
                $"redirect URIs:  {string.Join(" ", client.RedirectUris)}", $"require consent: {(client.RequireConsent ? "yes" : "no")}",
                $"require MFA:    {(client.RequireMfa ? "yes" : "no")}",
                $"secrets:        {(client.Secrets.Count == 0 ? "none" : string.Join("; ", client.Secrets.Select(s => $"created {s.CreatedAt:u}, expires {(s.ExpiresAt is { } x ? x.ToString("u") : "never")}")))}"));
            return 0;
        }, ct));

        var remove = new Command("remove", "Delete a client.") { clientId, json };
        remove.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var result = await sp.GetRequiredService<ClientAdministration>().DeleteAsync(p.GetValue(clientId)!, AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            PrintClient(o, result.Value!, p.GetValue(json), $"Deleted client {result.Value!.ClientId}.");
            return 0;
        }, ct));

        var rotate = new Command("rotate-secret", "Add a new secret (printed once); the previous ones expire after the overlap.") { clientId, overlap, json };
        rotate.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var result = await sp.GetRequiredService<ClientAdministration>().RotateSecretAsync(p.GetValue(clientId)!, p.GetValue(overlap), AdminActor.CommandLine, ct);
            if (!result.Succeeded) return Fail(result, e);
            var r = result.Value!;
            if (p.GetValue(json)) o.WriteLine(JsonSerializer.Serialize(new { client_id = r.Client.ClientId, client_secret = r.Secret, previous_secrets_expire_at = r.PreviousExpireAt }, Json));
            else o.WriteLine($"New client_secret for {r.Client.ClientId}: {r.Secret}\nStore it now: it is not shown again. The previous secrets work until {r.PreviousExpireAt:u}.");
            return 0;
        }, ct));
        return new Command("clients", "Manage clients.") { add, list, show, update, rotate, remove };
    }

    private static void PrintClient(TextWriter o, ClientView client, bool json, string human) =>
        o.WriteLine(json ? JsonSerializer.Serialize(client, Json) : human);

    private static Command Keys(TextWriter o)
    {
        var json = new Option<bool>("--json") { Description = "Machine-readable output" };
        var list = new Command("list", "List signing keys with their state: published (not yet signing), active (signing), retired (still published for validation).") { json };
        list.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var keys = await SigningKeyView.ListAsync(sp.GetRequiredService<IdentityServerDbContext>(), sp.GetRequiredService<IdentityServerOptions>(),
                sp.GetRequiredService<TimeProvider>(), ct);
            if (p.GetValue(json)) { o.WriteLine(JsonSerializer.Serialize(keys, Json)); return 0; }
            if (keys.Count == 0) { o.WriteLine("No signing keys yet (the server creates one when it starts)."); return 0; }
            o.WriteLine($"{"KID",-26} {"ALG",-6} {"STATE",-10} CREATED");
            foreach (var k in keys) o.WriteLine($"{k.Kid,-26} {k.Alg,-6} {k.State,-10} {k.CreatedAt:u}");
            return 0;
        }, ct));
        var now = new Option<bool>("--now") { Description = "After a key leak: the new key signs at once and the old one is withdrawn (its tokens stop validating)" };
        var rotate = new Command("rotate", "Rotate the signing keys now: a successor is published and takes over after the publish lead (or --now).") { now, json };
        rotate.SetAction((p, ct) => WithScopeAsync(async sp =>
        {
            var kids = await sp.GetRequiredService<Keys.ISigningKeyStore>().RotateAsync(p.GetValue(now), ct);
            var actor = AdminActor.CommandLine;
            await sp.GetRequiredService<Audit.IAuditLog>().RecordAsync(new Audit.AuditEntry(Audit.AuditEvents.KeysRotated,
                actor.Type, actor.Id, "key", string.Join(",", kids), p.GetValue(now) ? "immediately; previous key withdrawn" : "after the publish lead"), CancellationToken.None);
            o.WriteLine(p.GetValue(json) ? JsonSerializer.Serialize(new { kids }, Json) : $"New signing key(s): {string.Join(", ", kids)}.");
            return 0;
        }, ct));
        return new Command("keys", "Inspect and rotate signing keys.") { list, rotate };
    }

    /// <summary>A service scope on a migrated database.</summary>
    private static async Task<IServiceScope> OpenAsync(WebApplication host, CancellationToken ct)
    {
        var scope = host.Services.CreateScope();
        if (scope.ServiceProvider.GetRequiredService<DatabaseOptions>().MigrateOnStartup)
            await DatabaseSetup.MigrateAsync(scope.ServiceProvider, ct);
        return scope;
    }
}
