using IdentityServer.Options;

namespace IdentityServer.Protocol;

/// <summary>
/// The scopes this server knows: the OpenID Connect identity scopes and the configured API scopes, with the rules for which
/// scopes a request may carry (RFC 6749 §3.3). OpenIddict is told every scope name; these rules decide what a client may ask
/// for, with the error code RFC 6749 gives (<c>invalid_scope</c>).
/// </summary>
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

    /// <summary>Every scope name: the identity scopes, then the API scopes.</summary>
    public IEnumerable<string> AllNames => Scopes.Identity.Concat(_api.Keys);

    /// <summary>The API scope named <paramref name="name"/>, or null.</summary>
    public ApiScope? FindApiScope(string name) => _api.GetValueOrDefault(name);

    /// <summary>True when <paramref name="name"/> is an identity scope or an API scope.</summary>
    public bool IsKnown(string name) => Scopes.Identity.Contains(name) || _api.ContainsKey(name);

    /// <summary>True when <paramref name="scopes"/> name a resource (<c>openid</c>, for userinfo, or an API scope), so an access token has an <c>aud</c> (RFC 9068 §2.2).</summary>
    public bool NamesAResource(IEnumerable<string> scopes) => scopes.Any(s => s == Scopes.OpenId || _api.ContainsKey(s));

    /// <summary>
    /// Checks the scopes of a request on an end-user's behalf (authorization and device authorization requests, RFC 6749 §3.3):
    /// at least one; each well formed, known and allowed for the client (<paramref name="allowed"/>); identity scopes
    /// (<c>profile</c>, <c>email</c>, <c>offline_access</c>) only next to <c>openid</c>. So the access token always names a
    /// resource (<c>openid</c> or an API scope) as its audience. Null when acceptable, else <c>invalid_scope</c>.
    /// </summary>
    public ProtocolError? CheckEndUserScopes(IReadOnlyCollection<string> requested, IReadOnlySet<string> allowed)
    {
        if (requested.Count == 0)
            return ProtocolError.InvalidScope("The scope parameter is missing.");
        if (requested.Any(s => !Scopes.IsWellFormed(s)))
            return ProtocolError.InvalidScope("The scope parameter is malformed.");
        if (requested.Any(s => !IsKnown(s)))
            return ProtocolError.InvalidScope("The request names a scope this server does not know.");
        if (requested.Any(s => !allowed.Contains(s)))
            return ProtocolError.InvalidScope("The client may not request one of the scopes.");
        if (!requested.Contains(Scopes.OpenId) && requested.Any(Scopes.Identity.Contains))
            return ProtocolError.InvalidScope("The profile, email and offline_access scopes need the openid scope.");
        return null;
    }

    /// <summary>
    /// Checks the scopes of a <c>client_credentials</c> request (RFC 6749 §4.4.2): API scopes the client is allowed, never identity
    /// scopes (there is no end-user). Without <c>scope</c> the client gets every API scope it is allowed except <c>idp.admin</c>, which
    /// must be asked for by name: administering is never a side effect of an omitted scope. Returns the scopes to grant, or
    /// <c>invalid_scope</c>.
    /// </summary>
    public (IReadOnlyList<string> Scopes, ProtocolError? Error) ClientCredentialsScopes(string? requested, IReadOnlySet<string> allowed)
    {
        if (requested is null)
        {
            var all = allowed.Where(s => _api.ContainsKey(s) && s != Scopes.Admin).Order(StringComparer.Ordinal).ToArray();
            return all.Length == 0 ? ([], ProtocolError.InvalidScope("The client has no API scope.")) : (all, null);
        }
        var scopes = Scopes.Parse(requested);
        if (scopes.Count == 0) return ([], ProtocolError.InvalidScope("The scope parameter is empty."));
        if (scopes.Any(s => !_api.ContainsKey(s)))
            return ([], ProtocolError.InvalidScope("Only API scopes can be requested with client_credentials."));
        if (scopes.Any(s => !allowed.Contains(s)))
            return ([], ProtocolError.InvalidScope("The client may not request one of the scopes."));
        return (scopes, null);
    }

    /// <summary>
    /// The audiences of an access token with <paramref name="scopes"/>: each API scope's audience, plus the issuer when
    /// <c>openid</c> is present (the token is then good at the userinfo endpoint). RFC 9068 §3.
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

/// <summary>An API scope: a permission on a resource server, which names the access token's audience.</summary>
/// <param name="Name">The scope token, e.g. <c>api1</c>.</param>
/// <param name="DisplayName">Text shown on the consent page.</param>
/// <param name="Audience">The <c>aud</c> of access tokens carrying this scope (RFC 9068 §3).</param>
public sealed record ApiScope(string Name, string? DisplayName, string Audience);
