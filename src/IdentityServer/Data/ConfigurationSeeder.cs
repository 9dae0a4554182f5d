using IdentityServer.Data.Entities;
using IdentityServer.Options;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore.Identity;

namespace IdentityServer.Data;

/// <summary>
/// Upserts the clients declared in configuration, through OpenIddict's application manager (configuration stays authoritative for
/// them: their settings and secret are replaced at every start), and creates the seed users that do not exist yet (existing users are
/// left alone: their password is never reset).
/// </summary>
public sealed class ConfigurationSeeder(ClientApplicationManager clients, UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles,
    IdentityServerDbContext db, IdentityServerOptions options, ILogger<ConfigurationSeeder> logger)
{
    /// <summary>
    /// Runs both steps. Throws <see cref="Hosting.ConfigurationException"/> when a seed user cannot be created (e.g. password policy).
    /// Nodes starting at the same moment on one database may both try: what another node created first is kept.
    /// </summary>
    public async Task SeedAsync(CancellationToken ct = default)
    {
        await UpsertClientsAsync(ct);
        await CreateUsersAsync();
    }

    /// <summary>The profile a configured client gets.</summary>
    public static ClientProfile ToProfile(ClientOptions c) => new()
    {
        ClientId = c.ClientId, DisplayName = c.DisplayName, Confidential = c.ClientSecret is not null, Enabled = true,
        RedirectUris = [.. c.RedirectUris], PostLogoutRedirectUris = [.. c.PostLogoutRedirectUris], GrantTypes = [.. c.GrantTypes],
        Scopes = [.. c.Scopes], RequireConsent = c.RequireConsent, RequireMfa = c.RequireMfa, IdTokenSignedResponseAlg = c.IdTokenSignedResponseAlg,
        BackChannelLogoutUri = c.BackChannelLogoutUri, AccessTokenLifetimeSeconds = c.AccessTokenLifetimeSeconds,
        RefreshTokenLifetimeSeconds = c.RefreshTokenLifetimeSeconds, Source = ClientSources.Configuration,
    };

    private async Task UpsertClientsAsync(CancellationToken ct)
    {
        foreach (var c in options.Clients)
        {
            var profile = ToProfile(c);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    // The first try may use this scope's cache; a retry reads the store as it is now.
                    var application = attempt == 1 ? await clients.FindAnyByClientIdAsync(c.ClientId, ct) : await clients.FindStoredByClientIdAsync(c.ClientId, ct);
                    if (application is null)
                        await clients.CreateAsync(profile, c.ClientSecret, ct: ct);
                    else
                    {
                        await clients.UpdateAsync(application, profile, ct);
                        await clients.ReplaceSecretAsync(application, c.ClientSecret, ct);
                    }
                    break;
                }
                catch (Exception e) when (attempt < 3 && e is OpenIddict.Abstractions.OpenIddictExceptions.ValidationException
                                              or OpenIddict.Abstractions.OpenIddictExceptions.ConcurrencyException or Microsoft.EntityFrameworkCore.DbUpdateException)
                {
                    // Another node starting at the same moment created or updated it first (the unique client_id, or the row's
                    // concurrency token, decided): drop what failed and write configuration's settings over what is stored now.
                    logger.LogDebug(e, "Client {ClientId} was written by another node at the same time; trying again", c.ClientId);
                    db.ChangeTracker.Clear();
                }
            }
        }
        if (options.Clients.Count > 0)
            logger.LogInformation("Upserted {Count} client(s) from configuration", options.Clients.Count);
    }

    private async Task CreateUsersAsync()
    {
        for (var i = 0; i < options.Users.Count; i++)
        {
            var u = options.Users[i];
            if (await users.FindByNameAsync(u.UserName) is not null) continue;
            var user = new ApplicationUser { UserName = u.UserName, Email = u.Email, EmailConfirmed = u.Email is not null };
            IdentityResult result;
            try { result = await users.CreateAsync(user, u.Password); }
            catch (Microsoft.EntityFrameworkCore.DbUpdateException)
            {
                // Another node starting at the same moment created it first (the unique index decided); anything else is real.
                db.ChangeTracker.Clear();
                if (await users.FindByNameAsync(u.UserName) is null) throw;
                continue;
            }
            if (!result.Succeeded)
            {
                if (result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName))) continue; // created by another node
                throw new Hosting.ConfigurationException(
                    $"IdentityServer:Users:{i} ('{u.UserName}') cannot be created: {string.Join(" ", result.Errors.Select(e => e.Description))}");
            }
            foreach (var role in u.Roles)
            {
                if (!await roles.RoleExistsAsync(role))
                {
                    try { await roles.CreateAsync(new IdentityRole(role)); }
                    catch (Microsoft.EntityFrameworkCore.DbUpdateException) { db.ChangeTracker.Clear(); /* created by another node */ }
                }
                await users.AddToRoleAsync(user, role);
            }
            logger.LogInformation("Created seed user {UserName}", u.UserName);
        }
    }
}
