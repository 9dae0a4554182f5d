using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Requests;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// <c>grant_type=client_credentials</c> (RFC 6749 §4.4). Rules, in order:
/// <list type="number">
/// <item>confidential clients only (RFC 6749 §4.4: <c>unauthorized_client</c>)</item>
/// <item>requested scopes are API scopes allowed for the client; identity scopes are refused (<c>invalid_scope</c>); no <c>scope</c> means every API scope the client has but <c>idp.admin</c>, which must be requested by name</item>
/// </list>
/// Issues an access token only: no refresh token (RFC 6749 §4.4.3), no ID token.
/// </summary>
public sealed class ClientCredentialsGrantHandler(ScopeCatalog catalog, TokenIssuer issuer, TimeProvider time) : ITokenGrantHandler
{
    /// <inheritdoc />
    public string GrantType => GrantTypes.ClientCredentials;

    /// <inheritdoc />
    public async Task<OAuthResult<TokenResponse>> HandleAsync(Client client, OAuthParameters p, CancellationToken ct)
    {
        if (!client.IsConfidential)
            return OAuthError.UnauthorizedClient("Only confidential clients may use client_credentials.");

        IReadOnlyList<string> scopes;
        if (p["scope"] is { } requested)
        {
            scopes = Scopes.Parse(requested);
            if (scopes.Count == 0) return OAuthError.InvalidScope("The scope parameter is empty.");
            foreach (var s in scopes)
            {
                if (!catalog.ApiScopeNames.Contains(s))
                    return OAuthError.InvalidScope($"The scope '{s}' is not an API scope.");
                if (!client.Scopes.Contains(s, StringComparer.Ordinal))
                    return OAuthError.InvalidScope($"The client may not request the scope '{s}'.");
            }
        }
        else
        {
            // idp.admin only when asked for by name: administering is never a side effect of an omitted scope.
            scopes = client.Scopes.Where(s => catalog.ApiScopeNames.Contains(s) && s != Scopes.Admin).ToArray();
            if (scopes.Count == 0) return OAuthError.InvalidScope("The client has no API scope.");
        }
        return await issuer.IssueForClientAsync(client, scopes, time.GetUtcNow(), ct);
    }
}
