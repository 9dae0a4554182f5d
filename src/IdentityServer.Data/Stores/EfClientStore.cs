using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Stores;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data.Stores;

/// <summary>Reads clients from the database on each request, so changes take effect without a restart.</summary>
public sealed class EfClientStore(IdentityServerDbContext db) : IClientStore
{
    /// <inheritdoc />
    public async Task<Client?> FindByClientIdAsync(string clientId, CancellationToken cancellationToken = default)
    {
        var e = await db.Clients.AsNoTracking().Include(c => c.Secrets)
            .FirstOrDefaultAsync(c => c.ClientId == clientId, cancellationToken);
        if (e is null || e.ClientId != clientId) return null; // guard against case-insensitive collations
        return new Client
        {
            ClientId = e.ClientId,
            DisplayName = e.DisplayName,
            Enabled = e.Enabled,
            Secrets = e.Secrets.Select(s => new ClientSecret(s.Hash, s.ExpiresAt)).ToArray(),
            RedirectUris = e.RedirectUris,
            PostLogoutRedirectUris = e.PostLogoutRedirectUris,
            GrantTypes = e.GrantTypes,
            Scopes = e.Scopes,
            RequireConsent = e.RequireConsent,
            RequireMfa = e.RequireMfa,
            BackChannelLogoutUri = e.BackChannelLogoutUri,
            IdTokenSignedResponseAlg = e.IdTokenSignedResponseAlg,
            AccessTokenLifetimeSeconds = e.AccessTokenLifetimeSeconds,
            RefreshTokenLifetimeSeconds = e.RefreshTokenLifetimeSeconds,
        };
    }
}
