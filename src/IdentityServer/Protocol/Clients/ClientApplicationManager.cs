using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol.Clients;

/// <summary>
/// OpenIddict's application manager with this server's client rules. OpenIddict and our own code (admin UI, API, command line,
/// configuration seeding, the upgrade) reach clients only through it. What it changes:
/// <list type="bullet">
/// <item>secrets are SHA-256 in a set that may hold several at once, compared in constant time
/// (<see cref="ClientSecrets"/>, RFC 6749 §2.3.1), instead of OpenIddict's PBKDF2;</item>
/// <item>a redirect URI must equal a registered one character for character; only a loopback IP literal with <c>http</c> may differ
/// in its port (<see cref="RedirectUriMatcher"/>: RFC 9700 §4.1.3, RFC 8252 §7.3);</item>
/// <item>a disabled client is not found (<see cref="FindByClientIdAsync"/>), so every request from it fails as if it were unknown;
/// administration finds it with <see cref="FindAnyByClientIdAsync"/>;</item>
/// <item>lookups by <c>client_id</c> are served from this node's <see cref="ClientCache"/>, which every change made through this
/// manager empties;</item>
/// <item><see cref="ClientProfile"/> reads and writes a whole client: grant types and scopes as OpenIddict permissions
/// (<c>gt:</c>, <c>scp:</c>), consent as the consent type, lifetimes as OpenIddict settings, our settings as properties.</item>
/// </list>
/// </summary>
public sealed class ClientApplicationManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store,
    TimeProvider time,
    ClientCache clientCache,
    IdentityServerDbContext db)
    : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(cache, logger, options, store)
{
    /// <summary>Names of our settings in the application's properties (OpenIddict's <c>Properties</c> column, JSON).</summary>
    public static class PropertyNames
    {
        public const string Enabled = "enabled";
        public const string Source = "source";
        public const string RequireMfa = "require_mfa";
        public const string IdTokenSignedResponseAlg = "id_token_signed_response_alg";
        public const string BackChannelLogoutUri = "backchannel_logout_uri";
        public const string CreatedAt = "created_at";
        public const string UpdatedAt = "updated_at";
    }

    /// <summary>
    /// The enabled client with this <c>client_id</c> (exact match), or null when unknown or disabled; from this node's
    /// <see cref="ClientCache"/> when it holds a copy, so a change made through another node may take up to
    /// <see cref="Options.CacheOptions.ClientSeconds"/> to show (a new secret shows at once: <see cref="ValidateClientSecretAsync(OpenIddictEntityFrameworkCoreApplication, string, CancellationToken)"/>).
    /// The result is shared by concurrent requests: read it, never change it.
    /// </summary>
    public override async ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindByClientIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(identifier);
        // With the cache off (0 seconds) nothing is kept, so every lookup reads the database, the same way.
        var entry = clientCache.Find(identifier) ?? await ReadAsync(identifier, cancellationToken);
        return entry is null ? null : entry.Enabled ? entry.Application : Disabled(identifier);
    }

    /// <summary>
    /// True when <paramref name="secret"/> is one of the client's current secrets (<see cref="ClientSecrets"/>, RFC 6749 §2.3.1). When it
    /// does not match this node's cached copy, the client is read again before the answer is no: a secret set through another node
    /// (rotation, a new client) works on every node at once; only taking a secret, or a client, away waits for the cache's bound. A
    /// database error is thrown (OpenIddict answers 500), never taken for a wrong secret.
    /// </summary>
    public override async ValueTask<bool> ValidateClientSecretAsync(OpenIddictEntityFrameworkCoreApplication application, string secret, CancellationToken cancellationToken = default)
    {
        if (await base.ValidateClientSecretAsync(application, secret, cancellationToken)) return true;
        if (!clientCache.IsEnabled || application.ClientId is not { } clientId) return false;
        return await ReadAsync(clientId, cancellationToken) is { Enabled: true } current
            && current.Application.ConcurrencyToken != application.ConcurrencyToken
            && await base.ValidateClientSecretAsync(current.Application, secret, cancellationToken);
    }

    /// <summary>
    /// Whether the client is enabled as stored now, read past every cache: null when unknown. For the rule that stops a disabled
    /// client's tokens at once on every node (<see cref="Handlers.TokensOfEnabledClientsOnly"/>).
    /// </summary>
    public async ValueTask<bool?> IsEnabledNowAsync(string clientId, CancellationToken ct = default)
    {
        var properties = await db.Set<OpenIddictEntityFrameworkCoreApplication>().AsNoTracking()
            .Where(a => a.ClientId == clientId).Select(a => new { a.Properties }).FirstOrDefaultAsync(ct);
        return properties is null ? null : IsEnabled(properties.Properties);
    }

    /// <summary>Reads the client from the database (without tracking) into this node's cache; null when unknown (not remembered).</summary>
    private async ValueTask<ClientCache.Entry?> ReadAsync(string clientId, CancellationToken ct)
    {
        var generation = clientCache.Generation;
        var application = await db.Set<OpenIddictEntityFrameworkCoreApplication>().AsNoTracking().FirstOrDefaultAsync(a => a.ClientId == clientId, ct);
        return application is null ? null : clientCache.Add(application, IsEnabled(application.Properties), generation);
    }

    private OpenIddictEntityFrameworkCoreApplication? Disabled(string clientId)
    {
        Logger.LogInformation("Client {ClientId} is disabled: treated as unknown", clientId);
        return null;
    }

    /// <summary>OpenIddict's CreateAsync, then this node's <see cref="ClientCache"/> is emptied.</summary>
    public override async ValueTask CreateAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        await base.CreateAsync(application, cancellationToken);
        clientCache.Clear();
    }

    /// <summary>OpenIddict's UpdateAsync, then this node's <see cref="ClientCache"/> is emptied.</summary>
    public override async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        try { await base.UpdateAsync(application, cancellationToken); }
        finally { clientCache.Clear(); }
    }

    /// <summary>OpenIddict's DeleteAsync, then this node's <see cref="ClientCache"/> is emptied.</summary>
    public override async ValueTask DeleteAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken cancellationToken = default)
    {
        try { await base.DeleteAsync(application, cancellationToken); }
        finally { clientCache.Clear(); }
    }

    /// <summary>The client with this <c>client_id</c>, enabled or not; null when unknown. For administration.</summary>
    public ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindAnyByClientIdAsync(string identifier, CancellationToken cancellationToken = default) =>
        base.FindByClientIdAsync(identifier, cancellationToken);

    /// <summary>
    /// The client as stored now, read past this scope's entity cache (which also remembers a lookup that found nothing): for the retry
    /// after another node created the client between this scope's lookup and its insert.
    /// </summary>
    public ValueTask<OpenIddictEntityFrameworkCoreApplication?> FindStoredByClientIdAsync(string identifier, CancellationToken cancellationToken = default) =>
        Store.FindByClientIdAsync(identifier, cancellationToken);

    /// <summary>True when <paramref name="uri"/> is registered for <paramref name="application"/> (see the class summary).</summary>
    public override async ValueTask<bool> ValidateRedirectUriAsync(OpenIddictEntityFrameworkCoreApplication application, string uri, CancellationToken cancellationToken = default)
    {
        if (RedirectUriMatcher.IsRegistered(uri, await Store.GetRedirectUrisAsync(application, cancellationToken))) return true;
        Logger.LogInformation("The redirect_uri is not registered for client {ClientId}", application.ClientId);
        return false;
    }

    /// <summary>True when <paramref name="uri"/> equals a registered post-logout redirect URI exactly (OpenID Connect RP-Initiated Logout 1.0 §3).</summary>
    public override async ValueTask<bool> ValidatePostLogoutRedirectUriAsync(OpenIddictEntityFrameworkCoreApplication application, string uri, CancellationToken cancellationToken = default) =>
        (await Store.GetPostLogoutRedirectUrisAsync(application, cancellationToken)).Contains(uri, StringComparer.Ordinal);

    /// <summary>The stored form of a new secret: a set holding its SHA-256 alone (<see cref="ClientSecrets"/>).</summary>
    protected override ValueTask<string> ObfuscateClientSecretAsync(string secret, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(ClientSecrets.Serialize([new StoredClientSecret(ClientSecrets.Hash(secret), time.GetUtcNow())]));

    /// <summary>True when <paramref name="secret"/> matches an unexpired secret of the stored set <paramref name="comparand"/>, in constant time.</summary>
    protected override ValueTask<bool> ValidateClientSecretAsync(string secret, string comparand, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(ClientSecrets.Verify(secret, ClientSecrets.Parse(comparand), time.GetUtcNow()));

    /// <summary>The whole client as stored.</summary>
    public async ValueTask<ClientProfile> GetProfileAsync(OpenIddictEntityFrameworkCoreApplication application, CancellationToken ct = default)
    {
        var permissions = await Store.GetPermissionsAsync(application, ct);
        var properties = await Store.GetPropertiesAsync(application, ct);
        var settings = await Store.GetSettingsAsync(application, ct);
        return new ClientProfile
        {
            ClientId = application.ClientId!,
            DisplayName = application.DisplayName,
            Confidential = application.ClientType == ClientTypes.Confidential,
            Enabled = Bool(properties, PropertyNames.Enabled) ?? true,
            RedirectUris = await Store.GetRedirectUrisAsync(application, ct),
            PostLogoutRedirectUris = await Store.GetPostLogoutRedirectUrisAsync(application, ct),
            GrantTypes = WithPrefix(permissions, Permissions.Prefixes.GrantType),
            Scopes = WithPrefix(permissions, Permissions.Prefixes.Scope),
            RequireConsent = application.ConsentType == ConsentTypes.Explicit,
            RequireMfa = Bool(properties, PropertyNames.RequireMfa) ?? false,
            IdTokenSignedResponseAlg = Text(properties, PropertyNames.IdTokenSignedResponseAlg),
            BackChannelLogoutUri = Text(properties, PropertyNames.BackChannelLogoutUri),
            AccessTokenLifetimeSeconds = Seconds(settings, Settings.TokenLifetimes.AccessToken),
            RefreshTokenLifetimeSeconds = Seconds(settings, Settings.TokenLifetimes.RefreshToken),
            Source = Text(properties, PropertyNames.Source) ?? ClientSources.Admin,
            Secrets = ClientSecrets.Parse(application.ClientSecret),
            CreatedAt = Time(properties, PropertyNames.CreatedAt) ?? DateTimeOffset.UnixEpoch,
            UpdatedAt = Time(properties, PropertyNames.UpdatedAt) ?? DateTimeOffset.UnixEpoch,
        };
    }

    /// <summary>The client with this <c>client_id</c> as a profile, enabled or not; null when unknown.</summary>
    public async ValueTask<ClientProfile?> FindProfileAsync(string clientId, CancellationToken ct = default) =>
        await FindAnyByClientIdAsync(clientId, ct) is { } application ? await GetProfileAsync(application, ct) : null;

    /// <summary>
    /// Registers <paramref name="profile"/>; a confidential client gets <paramref name="secret"/> (its SHA-256 is stored), or, with
    /// <paramref name="secrets"/>, an existing set (the upgrade carries hashes over). The caller validates the profile first.
    /// </summary>
    /// <exception cref="OpenIddictExceptions.ValidationException">OpenIddict refuses the application (e.g. a taken <c>client_id</c>).</exception>
    public async ValueTask<OpenIddictEntityFrameworkCoreApplication> CreateAsync(ClientProfile profile, string? secret,
        IReadOnlyList<StoredClientSecret>? secrets = null, CancellationToken ct = default)
    {
        var application = await Store.InstantiateAsync(ct);
        var now = time.GetUtcNow();
        await WriteAsync(application, profile with { CreatedAt = profile.CreatedAt == default ? now : profile.CreatedAt, UpdatedAt = now }, ct);
        await Store.SetClientTypeAsync(application, profile.Confidential ? ClientTypes.Confidential : ClientTypes.Public, ct);
        if (secrets is { Count: > 0 })
        {
            // Hashes carried over as they are (OpenIddict's create path only takes a secret in clear), so the steps of that path that
            // still apply are done here: validation, then the entry, then the entity cache (which may hold "no such client" for this id).
            await Store.SetClientSecretAsync(application, ClientSecrets.Serialize(secrets), ct);
            var problems = new List<System.ComponentModel.DataAnnotations.ValidationResult>();
            await foreach (var result in ValidateAsync(application, ct))
                if (result != System.ComponentModel.DataAnnotations.ValidationResult.Success) problems.Add(result);
            if (problems.Count > 0)
                throw new OpenIddictExceptions.ValidationException($"Client '{profile.ClientId}' is not valid: {string.Join(" ", problems.Select(p => p.ErrorMessage))}", [.. problems]);
            await Store.CreateAsync(application, ct);
            clientCache.Clear();
            if (!Options.CurrentValue.DisableEntityCaching) await Cache.AddAsync(application, ct);
        }
        else await base.CreateAsync(application, secret, ct);
        return application;
    }

    /// <summary>Replaces the client's settings with <paramref name="profile"/>; its type and secrets stay.</summary>
    public async ValueTask UpdateAsync(OpenIddictEntityFrameworkCoreApplication application, ClientProfile profile, CancellationToken ct = default)
    {
        var current = await GetProfileAsync(application, ct);
        await WriteAsync(application, profile with { CreatedAt = current.CreatedAt, UpdatedAt = time.GetUtcNow() }, ct);
        await UpdateAsync(application, ct);
    }

    /// <summary>
    /// Adds <paramref name="secret"/> and gives every current secret that would outlive <paramref name="previousExpireAt"/> that end,
    /// so deployments switch over during the overlap; <paramref name="previousExpireAt"/> = now ends them at once.
    /// </summary>
    public async ValueTask RotateSecretAsync(OpenIddictEntityFrameworkCoreApplication application, string secret, DateTimeOffset previousExpireAt, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var previous = ClientSecrets.Parse(application.ClientSecret)
            .Where(s => s.ExpiresAt is not { } end || end > now)
            .Select(s => s.ExpiresAt is { } end && end <= previousExpireAt ? s : s with { ExpiresAt = previousExpireAt });
        await Store.SetClientSecretAsync(application, ClientSecrets.Serialize([.. previous, new StoredClientSecret(ClientSecrets.Hash(secret), now, null, "rotated")]), ct);
        await SetPropertyAsync(application, PropertyNames.UpdatedAt, JsonSerializer.SerializeToElement(now), ct);
        await UpdateAsync(application, ct);
    }

    /// <summary>
    /// Makes <paramref name="secret"/> the client's only secret, or makes the client public when it is null, unless that is already so
    /// (configuration stays authoritative for its clients: its secret replaces whatever was set).
    /// </summary>
    public async ValueTask ReplaceSecretAsync(OpenIddictEntityFrameworkCoreApplication application, string? secret, CancellationToken ct = default)
    {
        var current = ClientSecrets.Parse(application.ClientSecret);
        if (secret is null)
        {
            if (application.ClientType == ClientTypes.Public && string.IsNullOrEmpty(application.ClientSecret)) return;
            await Store.SetClientTypeAsync(application, ClientTypes.Public, ct);
            await Store.SetClientSecretAsync(application, null, ct);
        }
        else
        {
            var hash = ClientSecrets.Hash(secret);
            if (application.ClientType == ClientTypes.Confidential && current.Count == 1 && current[0].Sha256 == hash && current[0].ExpiresAt is null) return;
            await Store.SetClientTypeAsync(application, ClientTypes.Confidential, ct);
            await Store.SetClientSecretAsync(application, ClientSecrets.Serialize([new StoredClientSecret(hash, time.GetUtcNow())]), ct);
        }
        await UpdateAsync(application, ct);
    }

    private async ValueTask WriteAsync(OpenIddictEntityFrameworkCoreApplication application, ClientProfile p, CancellationToken ct)
    {
        await Store.SetClientIdAsync(application, p.ClientId, ct);
        await Store.SetDisplayNameAsync(application, string.IsNullOrWhiteSpace(p.DisplayName) ? null : p.DisplayName.Trim(), ct);
        await Store.SetConsentTypeAsync(application, p.RequireConsent ? ConsentTypes.Explicit : ConsentTypes.Implicit, ct);
        await Store.SetRedirectUrisAsync(application, [.. p.RedirectUris.Distinct(StringComparer.Ordinal)], ct);
        await Store.SetPostLogoutRedirectUrisAsync(application, [.. p.PostLogoutRedirectUris.Distinct(StringComparer.Ordinal)], ct);
        await Store.SetPermissionsAsync(application, [
            .. p.GrantTypes.Distinct(StringComparer.Ordinal).Select(g => Permissions.Prefixes.GrantType + g),
            .. p.Scopes.Distinct(StringComparer.Ordinal).Select(s => Permissions.Prefixes.Scope + s)], ct);
        var settings = ImmutableDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (p.AccessTokenLifetimeSeconds is { } access) settings[Settings.TokenLifetimes.AccessToken] = TimeSpan.FromSeconds(access).ToString("c", CultureInfo.InvariantCulture);
        if (p.RefreshTokenLifetimeSeconds is { } refresh) settings[Settings.TokenLifetimes.RefreshToken] = TimeSpan.FromSeconds(refresh).ToString("c", CultureInfo.InvariantCulture);
        await Store.SetSettingsAsync(application, settings.ToImmutable(), ct);
        var properties = ImmutableDictionary.CreateBuilder<string, JsonElement>(StringComparer.Ordinal);
        properties[PropertyNames.Enabled] = JsonSerializer.SerializeToElement(p.Enabled);
        properties[PropertyNames.Source] = JsonSerializer.SerializeToElement(p.Source);
        properties[PropertyNames.RequireMfa] = JsonSerializer.SerializeToElement(p.RequireMfa);
        if (p.IdTokenSignedResponseAlg is { } alg) properties[PropertyNames.IdTokenSignedResponseAlg] = JsonSerializer.SerializeToElement(alg);
        if (!string.IsNullOrWhiteSpace(p.BackChannelLogoutUri)) properties[PropertyNames.BackChannelLogoutUri] = JsonSerializer.SerializeToElement(p.BackChannelLogoutUri.Trim());
        properties[PropertyNames.CreatedAt] = JsonSerializer.SerializeToElement(p.CreatedAt);
        properties[PropertyNames.UpdatedAt] = JsonSerializer.SerializeToElement(p.UpdatedAt);
        await Store.SetPropertiesAsync(application, properties.ToImmutable(), ct);
    }

    private async ValueTask SetPropertyAsync(OpenIddictEntityFrameworkCoreApplication application, string name, JsonElement value, CancellationToken ct) =>
        await Store.SetPropertiesAsync(application, (await Store.GetPropertiesAsync(application, ct)).SetItem(name, value), ct);

    /// <summary>True unless the client's properties (stored JSON) say <c>"enabled": false</c>.</summary>
    private static bool IsEnabled(string? properties)
    {
        if (string.IsNullOrEmpty(properties)) return true;
        using var document = JsonDocument.Parse(properties);
        return !(document.RootElement.TryGetProperty(PropertyNames.Enabled, out var enabled) && enabled.ValueKind == JsonValueKind.False);
    }

    private static IReadOnlyList<string> WithPrefix(ImmutableArray<string> permissions, string prefix) =>
        [.. permissions.Where(p => p.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p[prefix.Length..])];

    private static bool? Bool(ImmutableDictionary<string, JsonElement> p, string name) =>
        p.TryGetValue(name, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;

    private static string? Text(ImmutableDictionary<string, JsonElement> p, string name) =>
        p.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static DateTimeOffset? Time(ImmutableDictionary<string, JsonElement> p, string name) =>
        p.TryGetValue(name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetDateTimeOffset(out var t) ? t : null;

    private static int? Seconds(ImmutableDictionary<string, string> s, string name) =>
        s.TryGetValue(name, out var v) && TimeSpan.TryParse(v, CultureInfo.InvariantCulture, out var t) ? (int)t.TotalSeconds : null;
}
