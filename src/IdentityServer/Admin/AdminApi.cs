using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Admin;

/// <summary>
/// The admin API under <c>/admin/api</c> (JSON; described by the OpenAPI document at <see cref="OpenApiPath"/>): clients,
/// users, signing keys and the audit log, through the same services as the admin UI and the command line. Every route is
/// guarded by <see cref="AdminApiAuthorization"/>; failures are RFC 9457 problem details.
/// </summary>
public static class AdminApi
{
    /// <summary>Path prefix of the API.</summary>
    public const string Prefix = "/admin/api";

    /// <summary>Where the OpenAPI document is served.</summary>
    public const string OpenApiPath = Prefix + "/openapi/{documentName}.json";

    /// <summary>Maps the routes.</summary>
    public static void MapAdminApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup(Prefix).AddEndpointFilter<AdminApiAuthorization>().DisableAntiforgery()
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);

        var clients = api.MapGroup("/clients").WithTags("Clients");
        clients.MapGet("/", (string? search, ClientAdministration a, CancellationToken ct) => a.ListAsync(search, ct))
            .WithSummary("List clients, optionally those whose id or name contains search.");
        clients.MapPost("/", async (HttpContext http, ClientAdministration a) =>
            {
                if (await ReadAsync<ClientDefinition>(http) is not { } d) return BadJson<ClientDefinition>();
                var r = await a.CreateAsync(d, AdminApiAuthorization.Actor(http), http.RequestAborted);
                return r.Succeeded
                    ? Results.Created($"{Prefix}/clients/{Uri.EscapeDataString(r.Value!.Client.ClientId)}", new CreatedClientResponse(r.Value.Client, r.Value.Secret))
                    : AdminProblems.From(r);
            })
            .Accepts<ClientDefinition>("application/json").Produces<CreatedClientResponse>(StatusCodes.Status201Created).ProducesProblem(400)
            .WithSummary("Register a client; a confidential one's secret is in the response, once. A taken client_id is a 400.");
        clients.MapGet("/{clientId}", async (string clientId, ClientAdministration a, CancellationToken ct) =>
                await a.FindAsync(clientId, ct) is { } c ? Results.Ok(c) : AdminProblems.Create(404, "Not found", $"No client '{clientId}'."))
            .Produces<ClientView>().ProducesProblem(404).WithSummary("One client, without secret material.");
        clients.MapPut("/{clientId}", async (string clientId, HttpContext http, ClientAdministration a) =>
            {
                if (await ReadAsync<ClientDefinition>(http) is not { } d) return BadJson<ClientDefinition>();
                return Result(await a.UpdateAsync(clientId, d, AdminApiAuthorization.Actor(http), http.RequestAborted));
            })
            .Accepts<ClientDefinition>("application/json").Produces<ClientView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("Replace all of a client's settings, as PUT does: omitted fields become empty, off, or (enabled) true. Its type stays.");
        clients.MapDelete("/{clientId}", async (string clientId, HttpContext http, ClientAdministration a) =>
            {
                var r = await a.DeleteAsync(clientId, AdminApiAuthorization.Actor(http), http.RequestAborted);
                return r.Succeeded ? Results.NoContent() : AdminProblems.From(r);
            })
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(404).ProducesProblem(409).WithSummary("Delete a client.");
        clients.MapPost("/{clientId}/secrets", async (string clientId, HttpContext http, ClientAdministration a) =>
            {
                var body = http.Request.ContentLength is > 0 ? await ReadAsync<RotateSecretRequest>(http) : new RotateSecretRequest();
                if (body is null) return BadJson<RotateSecretRequest>();
                var r = await a.RotateSecretAsync(clientId, body.OverlapDays, AdminApiAuthorization.Actor(http), http.RequestAborted);
                return r.Succeeded ? Results.Ok(new RotatedSecretResponse(r.Value!.Client.ClientId, r.Value.Secret, r.Value.PreviousExpireAt)) : AdminProblems.From(r);
            })
            .Accepts<RotateSecretRequest>("application/json").Produces<RotatedSecretResponse>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("Add a new secret (in the response, once); the previous ones expire after overlap_days (default 7).");

        var users = api.MapGroup("/users").WithTags("Users");
        users.MapGet("/", (string? search, UserAdministration a, CancellationToken ct) => a.ListAsync(search, ct: ct))
            .WithSummary("List users, optionally those whose user name or e-mail contains search.");
        users.MapPost("/", async (HttpContext http, UserAdministration a) =>
            {
                if (await ReadAsync<CreateUserRequest>(http) is not { UserName.Length: > 0, Password.Length: > 0 } d)
                    return AdminProblems.BadBody("The body must be JSON with user_name and password (and optionally email, roles).");
                var r = await a.CreateAsync(d.UserName, d.Email, d.Password, d.Roles ?? [], AdminApiAuthorization.Actor(http), http.RequestAborted);
                return r.Succeeded ? Results.Created($"{Prefix}/users/{r.Value!.Id}", r.Value) : AdminProblems.From(r);
            })
            .Accepts<CreateUserRequest>("application/json").Produces<UserView>(StatusCodes.Status201Created).ProducesProblem(400)
            .WithSummary("Create a user.");
        users.MapGet("/{user}", async (string user, UserAdministration a, CancellationToken ct) =>
                await a.FindAsync(user, ct) is { } u ? Results.Ok(u) : AdminProblems.Create(404, "Not found", $"No user '{user}'."))
            .Produces<UserView>().ProducesProblem(404).WithSummary("One user, by id or user name.");
        users.MapPost("/{user}/lock", async (string user, HttpContext http, UserAdministration a) =>
                Result(await a.LockAsync(user, AdminApiAuthorization.Actor(http), http.RequestAborted)))
            .Produces<UserView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409).WithSummary("Lock a user out until unlocked (not yourself, not the last active admin).");
        users.MapPost("/{user}/unlock", async (string user, HttpContext http, UserAdministration a) =>
                Result(await a.UnlockAsync(user, AdminApiAuthorization.Actor(http), http.RequestAborted)))
            .Produces<UserView>().ProducesProblem(404).WithSummary("End a user's lockout.");
        users.MapPost("/{user}/password", async (string user, HttpContext http, UserAdministration a) =>
            {
                if (await ReadAsync<ResetPasswordRequest>(http) is not { Password.Length: > 0 } body)
                    return AdminProblems.BadBody("The body must be JSON with a password.");
                return Result(await a.ResetPasswordAsync(user, body.Password, AdminApiAuthorization.Actor(http), http.RequestAborted));
            })
            .Accepts<ResetPasswordRequest>("application/json").Produces<UserView>().ProducesProblem(400).ProducesProblem(404)
            .WithSummary("Set a new password.");
        users.MapPost("/{user}/two-factor/reset", async (string user, HttpContext http, UserAdministration a) =>
                Result(await a.ResetTwoFactorAsync(user, AdminApiAuthorization.Actor(http), http.RequestAborted)))
            .Produces<UserView>().ProducesProblem(404).WithSummary("Turn two-step verification off (lost authenticator): removes the key and recovery codes.");
        users.MapDelete("/{user}/passkeys", async (string user, HttpContext http, UserAdministration a) =>
                Result(await a.RemovePasskeysAsync(user, AdminApiAuthorization.Actor(http), http.RequestAborted)))
            .Produces<UserView>().ProducesProblem(404).WithSummary("Remove every passkey of the user.");
        users.MapPut("/{user}/roles", async (string user, HttpContext http, UserAdministration a) =>
            {
                if (await ReadAsync<SetRolesRequest>(http) is not { Roles: not null } body)
                    return AdminProblems.BadBody("The body must be JSON with roles (an array of role names).");
                return Result(await a.SetRolesAsync(user, body.Roles, AdminApiAuthorization.Actor(http), http.RequestAborted));
            })
            .Accepts<SetRolesRequest>("application/json").Produces<UserView>().ProducesProblem(400).ProducesProblem(404).ProducesProblem(409)
            .WithSummary("Make the user's roles exactly these (the last active admin cannot be demoted, nor can admins demote themselves).");
        users.MapDelete("/{user}", async (string user, HttpContext http, UserAdministration a) =>
            {
                var r = await a.DeleteAsync(user, AdminApiAuthorization.Actor(http), http.RequestAborted);
                return r.Succeeded ? Results.NoContent() : AdminProblems.From(r);
            })
            .Produces(StatusCodes.Status204NoContent).ProducesProblem(404).ProducesProblem(409).WithSummary("Delete a user (not yourself, not the last active admin).");

        api.MapGet("/keys", (IdentityServerDbContext db, Options.IdentityServerOptions options, TimeProvider time, CancellationToken ct) =>
                SigningKeyView.ListAsync(db, options, time, ct))
            .WithTags("Keys").WithSummary("Signing keys with their state: published (not yet signing), active, retired (still published) or gone.");

        api.MapGet("/audit", async (string? actor, string? subject, string? @event, string? from, string? to, string? limit, AuditQuery q, CancellationToken ct) =>
            {
                // Parsed here, not by binding: a malformed value is a problem document, not an empty 400.
                var errors = new List<string>();
                var fromAt = ParseTime(from, "from", errors);
                var toAt = ParseTime(to, "to", errors);
                var max = 200;
                if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out max) || max is < 1 or > AuditQuery.MaxResults))
                    errors.Add($"limit must be a whole number from 1 to {AuditQuery.MaxResults}.");
                if (errors.Count > 0) return AdminProblems.Create(400, "Invalid request", "The query breaks one or more rules; see errors.", errors);
                return Results.Ok(await q.FindAsync(actor, subject, @event, fromAt, toAt, max, ct));
            })
            .Produces<List<AuditRecord>>().ProducesProblem(400)
            .WithTags("Audit").WithSummary("Audit records, newest first, filtered by actor id, subject id, event and time (from inclusive, to exclusive; ISO 8601).");
    }

    private static IResult Result<T>(AdminResult<T> r) => r.Succeeded ? Results.Ok(r.Value) : AdminProblems.From(r);

    private static DateTimeOffset? ParseTime(string? value, string name, List<string> errors)
    {
        if (value is null) return null;
        if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var at)) return at;
        errors.Add($"{name} must be an ISO 8601 date or time.");
        return null;
    }

    private static IResult BadJson<T>() => AdminProblems.BadBody($"The body must be a JSON {typeof(T).Name}.");

    /// <summary>The JSON body, or null when it is missing or malformed (the caller answers 400).</summary>
    private static async Task<T?> ReadAsync<T>(HttpContext http) where T : class
    {
        if (!http.Request.HasJsonContentType()) return null;
        try { return await http.Request.ReadFromJsonAsync<T>(http.RequestAborted); }
        catch (JsonException) { return null; }
    }
}

/// <summary>Answer to creating a client: the client and, for a confidential one, its secret (shown once).</summary>
public sealed record CreatedClientResponse([property: JsonPropertyName("client")] ClientView Client, [property: JsonPropertyName("client_secret")] string? ClientSecret);

/// <summary>Body of a secret rotation.</summary>
public sealed record RotateSecretRequest
{
    /// <summary>Days the previous secrets keep working (0 to 90; default 7).</summary>
    [JsonPropertyName("overlap_days")] public int OverlapDays { get; init; } = 7;
}

/// <summary>Answer to a secret rotation: the new secret (shown once) and when the previous ones stop working.</summary>
public sealed record RotatedSecretResponse(
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("previous_secrets_expire_at")] DateTimeOffset PreviousSecretsExpireAt);

/// <summary>Body of a user creation.</summary>
public sealed record CreateUserRequest
{
    [JsonPropertyName("user_name")] public string UserName { get; init; } = "";
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("password")] public string Password { get; init; } = "";
    [JsonPropertyName("roles")] public IReadOnlyList<string?>? Roles { get; init; }
}

/// <summary>Body of a role change.</summary>
public sealed record SetRolesRequest
{
    [JsonPropertyName("roles")] public IReadOnlyList<string?>? Roles { get; init; }
}

/// <summary>Body of a password reset.</summary>
public sealed record ResetPasswordRequest
{
    [JsonPropertyName("password")] public string Password { get; init; } = "";
}

/// <summary>A signing key as admins see it (no key material).</summary>
public sealed record SigningKeyView(
    [property: JsonPropertyName("kid")] string Kid,
    [property: JsonPropertyName("alg")] string Alg,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("activated_at")] DateTimeOffset? ActivatedAt,
    [property: JsonPropertyName("retired_at")] DateTimeOffset? RetiredAt)
{
    /// <summary>The view of a stored key at <paramref name="now"/>: published before <c>activated_at</c>, active until <c>retired_at</c>, then retired while still published, then gone.</summary>
    public static SigningKeyView From(Data.Entities.SigningKeyEntity k, DateTimeOffset now, int retiredPublishedDays) => new(k.Id, k.Algorithm,
        Keys.KeyStates.Of(k, now, retiredPublishedDays).ToString().ToLowerInvariant(), k.CreatedAt, k.ActivatedAt, k.RetiredAt);

    /// <summary>All stored keys as seen now, oldest first.</summary>
    public static async Task<List<SigningKeyView>> ListAsync(IdentityServerDbContext db, Options.IdentityServerOptions options, TimeProvider time, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        return (await db.SigningKeys.AsNoTracking().ToListAsync(ct)).OrderBy(k => k.CreatedAt)
            .Select(k => From(k, now, options.Keys.RetiredPublishedDays)).ToList();
    }
}
