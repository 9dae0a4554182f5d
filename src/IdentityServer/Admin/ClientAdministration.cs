using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityServer.Audit;
using IdentityServer.Hosting;
using IdentityServer.Options;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using OpenIddict.Abstractions;

namespace IdentityServer.Admin;

/// <summary>
/// Client administration shared by the admin UI, the admin API and the command line, over OpenIddict's application manager
/// (<see cref="ClientApplicationManager"/>). Every change is validated with the same rules as configuration
/// (<see cref="IdentityServerOptionsValidator.ValidateClient"/>, plus known scopes), is refused for clients declared in configuration
/// (configuration stays authoritative for them), takes effect on this node at once and on the others within the client cache's bound
/// (<see cref="ClientCache"/>; a new client or secret everywhere at once) and is recorded in the audit log with before/after snapshots that leave secrets out. Secrets are generated here (256 bits),
/// returned once, and stored as SHA-256.
/// </summary>
public sealed class ClientAdministration(ClientApplicationManager clients, ScopeCatalog scopes, IAuditLog audit, TimeProvider time)
{
    /// <summary>Clients whose <c>client_id</c> or display name contains <paramref name="search"/> (case-insensitive), by <c>client_id</c>.</summary>
    public async Task<IReadOnlyList<ClientView>> ListAsync(string? search = null, CancellationToken ct = default)
    {
        var views = new List<ClientView>();
        await foreach (var application in clients.ListAsync(null, null, ct))
        {
            var profile = await clients.GetProfileAsync(application, ct);
            if (string.IsNullOrWhiteSpace(search) || profile.ClientId.Contains(search, StringComparison.OrdinalIgnoreCase)
                || (profile.DisplayName?.Contains(search, StringComparison.OrdinalIgnoreCase) ?? false))
                views.Add(ClientView.From(profile));
        }
        return [.. views.OrderBy(v => v.ClientId, StringComparer.Ordinal)];
    }

    /// <summary>The client, or null.</summary>
    public async Task<ClientView?> FindAsync(string clientId, CancellationToken ct = default) =>
        await clients.FindProfileAsync(clientId, ct) is { } profile ? ClientView.From(profile) : null;

    /// <summary>Registers a client; a confidential one gets a new secret, returned here and never again.</summary>
    public async Task<AdminResult<CreatedClient>> CreateAsync(ClientDefinition definition, AdminActor actor, CancellationToken ct = default)
    {
        definition = definition.Normalized();
        var secret = definition.Confidential ? ClientSecrets.Generate() : null;
        var errors = Validate(definition, secret);
        if (errors.Count > 0) return AdminResult<CreatedClient>.Fail(AdminFailure.Invalid, [.. errors]);
        if (await clients.FindAnyByClientIdAsync(definition.ClientId, ct) is not null)
            return AdminResult<CreatedClient>.Fail(AdminFailure.Conflict, $"A client with client_id '{definition.ClientId}' already exists.");
        try
        {
            await clients.CreateAsync(definition.ToProfile(ClientSources.Admin), secret, ct: ct);
        }
        catch (Exception e) when (e is OpenIddictExceptions.ValidationException or Microsoft.EntityFrameworkCore.DbUpdateException)
        {
            // Another request may have registered the same client_id in between: the unique index decided.
            if (await clients.FindAnyByClientIdAsync(definition.ClientId, CancellationToken.None) is not null)
                return AdminResult<CreatedClient>.Fail(AdminFailure.Conflict, $"A client with client_id '{definition.ClientId}' already exists.");
            throw;
        }
        var view = (await FindAsync(definition.ClientId, ct))!;
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientCreated, actor.Type, actor.Id, "client", view.ClientId, After: Snapshot(view)), CancellationToken.None);
        return new CreatedClient(view, secret);
    }

    /// <summary>Replaces the client's settings with <paramref name="definition"/> (its type, public or confidential, does not change).</summary>
    public async Task<AdminResult<ClientView>> UpdateAsync(string clientId, ClientDefinition definition, AdminActor actor, CancellationToken ct = default)
    {
        if (await clients.FindAnyByClientIdAsync(clientId, ct) is not { } application) return AdminResult<ClientView>.Fail(AdminFailure.NotFound, $"No client '{clientId}'.");
        var current = await clients.GetProfileAsync(application, ct);
        if (current.Source == ClientSources.Configuration) return ConfigurationOwned<ClientView>(clientId);
        definition = definition.Normalized() with { ClientId = clientId, Confidential = current.Confidential };
        var errors = Validate(definition, current.Confidential ? new string('x', ClientSecrets.MinimumSecretLength) : null);
        if (errors.Count > 0) return AdminResult<ClientView>.Fail(AdminFailure.Invalid, [.. errors]);

        var before = Snapshot(ClientView.From(current));
        await clients.UpdateAsync(application, definition.ToProfile(ClientSources.Admin) with { IdTokenSignedResponseAlg = current.IdTokenSignedResponseAlg }, ct);
        var view = (await FindAsync(clientId, ct))!;
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientUpdated, actor.Type, actor.Id, "client", clientId, Before: before, After: Snapshot(view)), CancellationToken.None);
        return view;
    }

    /// <summary>
    /// Deletes the client and its secrets; OpenIddict removes its authorizations and token rows with it, so its codes and refresh tokens,
    /// and the access tokens of its users' sign-ins, stop working. Its own client-credentials access tokens are self-contained JWTs and
    /// stay valid at resource servers until they expire.
    /// </summary>
    public async Task<AdminResult<ClientView>> DeleteAsync(string clientId, AdminActor actor, CancellationToken ct = default)
    {
        if (await clients.FindAnyByClientIdAsync(clientId, ct) is not { } application) return AdminResult<ClientView>.Fail(AdminFailure.NotFound, $"No client '{clientId}'.");
        var profile = await clients.GetProfileAsync(application, ct);
        if (profile.Source == ClientSources.Configuration) return ConfigurationOwned<ClientView>(clientId);
        var view = ClientView.From(profile);
        await clients.DeleteAsync(application, ct);
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientDeleted, actor.Type, actor.Id, "client", clientId, Before: Snapshot(view)), CancellationToken.None);
        return view;
    }

    /// <summary>
    /// Adds a new secret (returned once) and lets the current ones expire after <paramref name="overlapDays"/> (0 to 90), so
    /// deployments can switch without downtime; 0 ends them at once. Only for confidential clients.
    /// </summary>
    public async Task<AdminResult<RotatedSecret>> RotateSecretAsync(string clientId, int overlapDays, AdminActor actor, CancellationToken ct = default)
    {
        if (await clients.FindAnyByClientIdAsync(clientId, ct) is not { } application) return AdminResult<RotatedSecret>.Fail(AdminFailure.NotFound, $"No client '{clientId}'.");
        var current = await clients.GetProfileAsync(application, ct);
        if (current.Source == ClientSources.Configuration) return ConfigurationOwned<RotatedSecret>(clientId);
        if (!current.Confidential) return AdminResult<RotatedSecret>.Fail(AdminFailure.Invalid, "A public client has no secret to rotate.");
        if (overlapDays is < 0 or > 90)
            return AdminResult<RotatedSecret>.Fail(AdminFailure.Invalid, "The overlap must be between 0 and 90 days.");

        var before = Snapshot(ClientView.From(current));
        var oldEnd = time.GetUtcNow().AddDays(overlapDays);
        var secret = ClientSecrets.Generate();
        await clients.RotateSecretAsync(application, secret, oldEnd, ct);
        var view = (await FindAsync(clientId, ct))!;
        await audit.RecordAsync(new AuditEntry(AuditEvents.ClientSecretRotated, actor.Type, actor.Id, "client", clientId,
            $"previous secrets expire {oldEnd:O}", before, Snapshot(view)), CancellationToken.None);
        return new RotatedSecret(view, secret, oldEnd);
    }

    private List<string> Validate(ClientDefinition d, string? secret)
    {
        var options = new ClientOptions
        {
            ClientId = d.ClientId, ClientSecret = secret, DisplayName = d.DisplayName, RedirectUris = [.. d.RedirectUris],
            PostLogoutRedirectUris = [.. d.PostLogoutRedirectUris], GrantTypes = [.. d.GrantTypes], Scopes = [.. d.Scopes],
            AccessTokenLifetimeSeconds = d.AccessTokenLifetimeSeconds, RefreshTokenLifetimeSeconds = d.RefreshTokenLifetimeSeconds,
            BackChannelLogoutUri = string.IsNullOrWhiteSpace(d.BackChannelLogoutUri) ? null : d.BackChannelLogoutUri,
        };
        var errors = IdentityServerOptionsValidator.ValidateClient(options, "client").ToList();
        if (d.GrantTypes.Count == 0) errors.Add("client: at least one grant type is needed.");
        errors.AddRange(d.Scopes.Where(s => !scopes.IsKnown(s)).Select(s => $"client: the scope '{s}' is unknown."));
        if (d.DisplayName is { Length: > 200 }) errors.Add("client: the display name can have at most 200 characters.");
        return errors;
    }

    private static AdminResult<T> ConfigurationOwned<T>(string clientId) =>
        AdminResult<T>.Fail(AdminFailure.ManagedByConfiguration, $"The client '{clientId}' is declared in configuration, which stays authoritative for it: change it there.");

    private static string Snapshot(ClientView view) => JsonSerializer.Serialize(view);
}

/// <summary>A client's settings as an admin gives them (create and update; an update replaces every field, as HTTP PUT does).</summary>
public sealed record ClientDefinition
{
    /// <summary>The same definition with null lists (JSON <c>null</c>) as empty and null or blank items dropped.</summary>
    public ClientDefinition Normalized() => this with
    {
        ClientId = ClientId ?? "",
        RedirectUris = Clean(RedirectUris), PostLogoutRedirectUris = Clean(PostLogoutRedirectUris), GrantTypes = Clean(GrantTypes), Scopes = Clean(Scopes),
    };

    private static IReadOnlyList<string> Clean(IReadOnlyList<string>? items) =>
        (items ?? []).Where(i => !string.IsNullOrWhiteSpace(i)).Select(i => i.Trim()).ToList();

    /// <summary>The profile this definition gives a client of <paramref name="source"/>.</summary>
    public ClientProfile ToProfile(string source) => new()
    {
        ClientId = ClientId, DisplayName = string.IsNullOrWhiteSpace(DisplayName) ? null : DisplayName.Trim(), Confidential = Confidential,
        Enabled = Enabled, RedirectUris = RedirectUris, PostLogoutRedirectUris = PostLogoutRedirectUris,
        GrantTypes = [.. GrantTypes.Distinct(StringComparer.Ordinal)], Scopes = [.. Scopes.Distinct(StringComparer.Ordinal)],
        RequireConsent = RequireConsent, RequireMfa = RequireMfa,
        BackChannelLogoutUri = string.IsNullOrWhiteSpace(BackChannelLogoutUri) ? null : BackChannelLogoutUri.Trim(),
        AccessTokenLifetimeSeconds = AccessTokenLifetimeSeconds, RefreshTokenLifetimeSeconds = RefreshTokenLifetimeSeconds, Source = source,
    };

    [JsonPropertyName("client_id")] public string ClientId { get; init; } = "";
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }
    /// <summary>True for a confidential client (gets a secret); only read on create.</summary>
    [JsonPropertyName("confidential")] public bool Confidential { get; init; }
    [JsonPropertyName("enabled")] public bool Enabled { get; init; } = true;
    [JsonPropertyName("redirect_uris")] public IReadOnlyList<string> RedirectUris { get; init; } = [];
    [JsonPropertyName("post_logout_redirect_uris")] public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];
    [JsonPropertyName("grant_types")] public IReadOnlyList<string> GrantTypes { get; init; } = [];
    [JsonPropertyName("scopes")] public IReadOnlyList<string> Scopes { get; init; } = [];
    [JsonPropertyName("require_consent")] public bool RequireConsent { get; init; }
    [JsonPropertyName("require_mfa")] public bool RequireMfa { get; init; }
    /// <summary>Back-channel logout URL (absolute http(s)); null for none.</summary>
    [JsonPropertyName("backchannel_logout_uri")] public string? BackChannelLogoutUri { get; init; }
    /// <summary>Access token lifetime, seconds (60..86400); null for the server default.</summary>
    [JsonPropertyName("access_token_lifetime_seconds")] public int? AccessTokenLifetimeSeconds { get; init; }
    /// <summary>Refresh token sliding lifetime, seconds; null for the server default.</summary>
    [JsonPropertyName("refresh_token_lifetime_seconds")] public int? RefreshTokenLifetimeSeconds { get; init; }
}

/// <summary>A client as admins see it: everything but secret material (secrets appear as creation and expiry times).</summary>
public sealed record ClientView
{
    [JsonPropertyName("client_id")] public required string ClientId { get; init; }
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }
    [JsonPropertyName("type")] public required string Type { get; init; }
    [JsonPropertyName("enabled")] public bool Enabled { get; init; }
    [JsonPropertyName("source")] public required string Source { get; init; }
    [JsonPropertyName("redirect_uris")] public IReadOnlyList<string> RedirectUris { get; init; } = [];
    [JsonPropertyName("post_logout_redirect_uris")] public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];
    [JsonPropertyName("grant_types")] public IReadOnlyList<string> GrantTypes { get; init; } = [];
    [JsonPropertyName("scopes")] public IReadOnlyList<string> Scopes { get; init; } = [];
    [JsonPropertyName("require_consent")] public bool RequireConsent { get; init; }
    [JsonPropertyName("require_mfa")] public bool RequireMfa { get; init; }
    [JsonPropertyName("backchannel_logout_uri")] public string? BackChannelLogoutUri { get; init; }
    [JsonPropertyName("access_token_lifetime_seconds")] public int? AccessTokenLifetimeSeconds { get; init; }
    [JsonPropertyName("refresh_token_lifetime_seconds")] public int? RefreshTokenLifetimeSeconds { get; init; }
    [JsonPropertyName("secrets")] public IReadOnlyList<SecretView> Secrets { get; init; } = [];
    [JsonPropertyName("created_at")] public DateTimeOffset CreatedAt { get; init; }
    [JsonPropertyName("updated_at")] public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The view of a client.</summary>
    public static ClientView From(ClientProfile p) => new()
    {
        ClientId = p.ClientId, DisplayName = p.DisplayName, Type = p.Confidential ? "confidential" : "public", Enabled = p.Enabled,
        Source = p.Source, RedirectUris = p.RedirectUris, PostLogoutRedirectUris = p.PostLogoutRedirectUris, GrantTypes = p.GrantTypes,
        Scopes = p.Scopes, RequireConsent = p.RequireConsent, RequireMfa = p.RequireMfa,
        AccessTokenLifetimeSeconds = p.AccessTokenLifetimeSeconds, RefreshTokenLifetimeSeconds = p.RefreshTokenLifetimeSeconds,
        BackChannelLogoutUri = p.BackChannelLogoutUri,
        Secrets = p.Secrets.OrderBy(s => s.CreatedAt).Select(s => new SecretView(s.Description, s.CreatedAt, s.ExpiresAt)).ToList(),
        CreatedAt = p.CreatedAt, UpdatedAt = p.UpdatedAt,
    };
}

/// <summary>A secret without its value or hash: what it is for, when it was made, when it expires (null: never).</summary>
public sealed record SecretView(
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt);

/// <summary>A new client and, for a confidential one, its secret (shown once).</summary>
public sealed record CreatedClient(ClientView Client, string? Secret);

/// <summary>The client after rotation, the new secret (shown once) and when the previous ones stop working.</summary>
public sealed record RotatedSecret(ClientView Client, string Secret, DateTimeOffset PreviousExpireAt);
