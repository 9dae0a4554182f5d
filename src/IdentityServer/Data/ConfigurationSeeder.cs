using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data;

/// <summary>
/// Upserts the clients declared in configuration (configuration stays authoritative for them) and creates
/// the seed users that do not exist yet (existing users are left alone: their password is never reset).
/// </summary>
public sealed class ConfigurationSeeder(
    IdentityServerDbContext db, UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles,
    IdentityServerOptions options, TimeProvider time, ILogger<ConfigurationSeeder> logger)
{
    /// <summary>Runs both steps. Throws <see cref="InvalidOperationException"/> when a seed user cannot be created (e.g. password policy).</summary>
    public async Task SeedAsync(CancellationToken ct = default)
    {
        await UpsertClientsAsync(ct);
        await CreateUsersAsync();
    }

    private async Task UpsertClientsAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var c in options.Clients)
        {
            var e = await db.Clients.Include(x => x.Secrets).FirstOrDefaultAsync(x => x.ClientId == c.ClientId, ct);
            if (e is null)
            {
                e = new ClientEntity { ClientId = c.ClientId, CreatedAt = now };
                db.Clients.Add(e);
            }
            e.DisplayName = c.DisplayName;
            e.Enabled = true;
            e.RedirectUris = [.. c.RedirectUris];
            e.PostLogoutRedirectUris = [.. c.PostLogoutRedirectUris];
            e.GrantTypes = [.. c.GrantTypes];
            e.Scopes = [.. c.Scopes];
            e.RequireConsent = c.RequireConsent;
            e.RequireMfa = c.RequireMfa;
            e.AccessTokenLifetimeSeconds = c.AccessTokenLifetimeSeconds;
            e.BackChannelLogoutUri = c.BackChannelLogoutUri;
            e.IdTokenSignedResponseAlg = c.IdTokenSignedResponseAlg;
            e.RefreshTokenLifetimeSeconds = c.RefreshTokenLifetimeSeconds;
            e.Source = ClientSources.Configuration;
            e.UpdatedAt = now;
            var hash = c.ClientSecret is null ? null : ClientSecretHasher.Hash(c.ClientSecret);
            e.Secrets.RemoveAll(s => s.Hash != hash);
            if (hash is not null && e.Secrets.Count == 0)
                e.Secrets.Add(new ClientSecretEntity { Hash = hash, Description = "configuration", CreatedAt = now });
        }
        await db.SaveChangesAsync(ct);
        if (options.Clients.Count > 0)
            logger.LogInformation("Upserted {Count} client(s) from configuration", options.Clients.Count);
    }

    private async Task CreateUsersAsync()
    {
        foreach (var u in options.Users)
        {
            if (await users.FindByNameAsync(u.UserName) is not null) continue;
            var user = new ApplicationUser { UserName = u.UserName, Email = u.Email, EmailConfirmed = u.Email is not null };
            var result = await users.CreateAsync(user, u.Password);
            if (!result.Succeeded)
                throw new InvalidOperationException($"Seed user '{u.UserName}' could not be created: {string.Join(" ", result.Errors.Select(e => e.Description))}");
            foreach (var role in u.Roles)
            {
                if (!await roles.RoleExistsAsync(role)) await roles.CreateAsync(new IdentityRole(role));
                await users.AddToRoleAsync(user, role);
            }
            logger.LogInformation("Created seed user {UserName}", u.UserName);
        }
    }
}
