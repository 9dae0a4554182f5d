using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Options;

namespace IdentityServer.Protocol.Grants;

/// <summary>The scopes this server knows: the OpenID Connect identity scopes and the configured API scopes.</summary>
public sealed class ScopeCatalog
{
    private readonly Dictionary<string, ApiScope> _api;

    /// <summary>
    /// Builds the catalog from <see cref="IdentityServerOptions.ApiScopes"/> (an API scope without <c>Audience</c> uses its name),
    /// plus the built-in <c>idp.admin</c> whose audience is the issuer (the admin API is served by the issuer itself).
    /// </summary>
    public ScopeCatalog(IdentityServerOptions options)
    {
        _api = options.ApiScopes
            .Where(s => !string.IsNullOrWhiteSpace(s.Name) && s.Name != Scopes.Admin)
            .ToDictionary(s => s.Name, s => new ApiScope(s.Name, s.DisplayName, string.IsNullOrWhiteSpace(s.Audience) ? s.Name : s.Audience), StringComparer.Ordinal);
        _api[Scopes.Admin] = new ApiScope(Scopes.Admin, "Administer this identity provider", options.Issuer);
        ApiScopeNames = _api.Keys.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Names of the API scopes.</summary>
    public IReadOnlySet<string> ApiScopeNames { get; }

    /// <summary>All API scopes.</summary>
    public IEnumerable<ApiScope> ApiScopes => _api.Values;

    /// <summary>The API scope named <paramref name="name"/>, or null.</summary>
    public ApiScope? FindApiScope(string name) => _api.GetValueOrDefault(name);

    /// <summary>True when <paramref name="name"/> is an identity scope or an API scope.</summary>
    public bool IsKnown(string name) => Scopes.Identity.Contains(name) || _api.ContainsKey(name);

    /// <summary>
    /// Checks the scopes of a request on an end-user's behalf (authorization and device authorization requests,
    /// RFC 6749 §3.3): at least one; each well formed, known and allowed for <paramref name="client"/>; identity
    /// scopes (<c>profile</c>, <c>email</c>, <c>offline_access</c>) only next to <c>openid</c>. So the access token always
    /// names a resource (<c>openid</c> or an API scope) as its audience. Null when acceptable, else <c>invalid_scope</c>.
    /// </summary>
    public OAuthError? CheckEndUserScopes(IReadOnlyList<string> requested, Client client)
    {
        if (requested.Count == 0)
            return OAuthError.InvalidScope("The scope parameter is missing.");
        foreach (var s in requested)
        {
            if (!Scopes.IsWellFormed(s))
                return OAuthError.InvalidScope("The scope parameter is malformed.");
            if (!IsKnown(s))
                return OAuthError.InvalidScope($"The scope '{s}' is unknown.");
            if (!client.Scopes.Contains(s, StringComparer.Ordinal))
                return OAuthError.InvalidScope($"The client may not request the scope '{s}'.");
        }
        if (!requested.Contains(Scopes.OpenId) && requested.Any(Scopes.Identity.Contains))
            return OAuthError.InvalidScope("The profile, email and offline_access scopes need the openid scope.");
        return null;
    }

    /// <summary>
    /// The audiences of an access token with <paramref name="scopes"/>: each API scope's audience, plus
    /// the issuer when <c>openid</c> is present (the token is then good at the userinfo endpoint). RFC 9068 §3.
    /// </summary>
    public IReadOnlyList<string> AudiencesFor(IEnumerable<string> scopes, string issuer)
    {
        var audiences = new List<string>();
        foreach (var s in scopes)
        {
            if (s == Scopes.OpenId) { if (!audiences.Contains(issuer)) audiences.Add(issuer); }
            else if (_api.TryGetValue(s, out var api) && !audiences.Contains(api.Audience)) audiences.Add(api.Audience);
        }
        return audiences;
    }
}
