using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Requests;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// The token endpoint's shared phases (RFC 6749 §3.2, §5), in order:
/// <list type="number">
/// <item>client authentication (<see cref="ClientAuthenticator"/>; <c>invalid_client</c> is 401)</item>
/// <item><c>grant_type</c> present (<c>invalid_request</c>) and supported (<c>unsupported_grant_type</c>)</item>
/// <item>the client is registered for that grant type (<c>unauthorized_client</c>)</item>
/// <item>the grant's handler: its own parameters, then issuance</item>
/// </list>
/// </summary>
public sealed class TokenEndpoint(ClientAuthenticator authenticator, IEnumerable<ITokenGrantHandler> handlers)
{
    private readonly Dictionary<string, ITokenGrantHandler> _handlers = handlers.ToDictionary(h => h.GrantType, StringComparer.Ordinal);

    /// <summary>Grant types with a handler, for discovery's <c>grant_types_supported</c>.</summary>
    public IEnumerable<string> SupportedGrantTypes => _handlers.Keys;

    /// <summary>Runs the phases above on a parsed form body and the Basic credentials, if any.</summary>
    public async Task<OAuthResult<TokenResponse>> HandleAsync(OAuthParameters p, BasicCredentials? basic, CancellationToken ct = default)
    {
        var client = await authenticator.AuthenticateAsync(p, basic, ct);
        if (!client.Succeeded) return client.Error;

        var grantType = p["grant_type"];
        if (grantType is null) return OAuthError.InvalidRequest("The grant_type parameter is missing.");
        if (!_handlers.TryGetValue(grantType, out var handler))
            return OAuthError.UnsupportedGrantType($"The grant type '{grantType}' is not supported.");
        if (!client.Value.AllowsGrantType(grantType))
            return OAuthError.UnauthorizedClient($"The client may not use the grant type '{grantType}'.");

        return await handler.HandleAsync(client.Value, p, ct);
    }
}
