using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>Credentials the adapter read from <c>Authorization: Basic</c>, already form-URL-decoded (RFC 6749 §2.3.1).</summary>
public sealed record BasicCredentials(string ClientId, string ClientSecret);

/// <summary>
/// Authenticates the client at the token endpoint with <c>client_secret_basic</c>, <c>client_secret_post</c>
/// or <c>none</c> (public client sends <c>client_id</c> only). RFC 6749 §2.3, §3.2.1; OpenID Connect Core §9.
/// Rules, in order:
/// <list type="number">
/// <item>at most one method (Basic header and <c>client_secret</c> together → <c>invalid_request</c>)</item>
/// <item>a <c>client_id</c> parameter next to Basic must name the same client (<c>invalid_request</c>)</item>
/// <item>the client is known and enabled (<c>invalid_client</c>, 401)</item>
/// <item>a confidential client presents a secret that matches (<c>invalid_client</c>, 401)</item>
/// <item>a public client presents no secret (<c>invalid_client</c>, 401)</item>
/// </list>
/// </summary>
public sealed class ClientAuthenticator(IClientStore clients, TimeProvider time)
{
    /// <summary>The authenticated client, or the error.</summary>
    public async Task<OAuthResult<Client>> AuthenticateAsync(OAuthParameters p, BasicCredentials? basic, CancellationToken ct = default)
    {
        var postSecret = p["client_secret"];
        if (basic is not null && postSecret is not null)
            return OAuthError.InvalidRequest("Use exactly one client authentication method.");
        if (basic is not null && p["client_id"] is { } bodyId && bodyId != basic.ClientId)
            return OAuthError.InvalidRequest("The client_id parameter does not match the Authorization header.");

        var clientId = basic?.ClientId ?? p["client_id"];
        if (string.IsNullOrEmpty(clientId))
            return OAuthError.InvalidClient("Client authentication is required.");
        var client = await clients.FindByClientIdAsync(clientId, ct);
        if (client is null || !client.Enabled)
            return OAuthError.InvalidClient("Client authentication failed.");

        var secret = basic?.ClientSecret ?? postSecret;
        if (client.IsConfidential)
        {
            if (string.IsNullOrEmpty(secret) || !ClientSecretHasher.Verify(secret, client.Secrets, time.GetUtcNow()))
                return OAuthError.InvalidClient("Client authentication failed.");
        }
        else if (!string.IsNullOrEmpty(secret))
        {
            return OAuthError.InvalidClient("A public client must not send a client secret.");
        }
        return client;
    }
}
