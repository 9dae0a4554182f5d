using IdentityServer.Protocol.Clients;

namespace IdentityServer.Protocol.Stores;

/// <summary>Looks up registered clients.</summary>
public interface IClientStore
{
    /// <summary>The client with this <c>client_id</c> (ordinal match), or null when unknown.</summary>
    Task<Client?> FindByClientIdAsync(string clientId, CancellationToken cancellationToken = default);
}
