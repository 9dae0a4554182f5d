using IdentityServer.Protocol;

namespace IdentityServer.Account;

/// <summary>What a scope means, in words for the person asked to allow it (consent and device confirmation screens).</summary>
public static class ScopeText
{
    /// <summary>The description of <paramref name="scope"/>: fixed text for the OpenID Connect scopes, the API scope's display name, else the scope itself.</summary>
    public static string Describe(string scope, ScopeCatalog catalog) => scope switch
    {
        Scopes.OpenId => "Sign you in (your user identifier)",
        Scopes.Profile => "Your profile: name and user name",
        Scopes.Email => "Your e-mail address",
        Scopes.OfflineAccess => "Stay signed in: access while you are away",
        _ => catalog.FindApiScope(scope)?.DisplayName ?? scope,
    };
}
