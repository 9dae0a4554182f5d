using OpenIddict.Abstractions;

namespace IdentityServer.Protocol;

/// <summary>Scope helpers and the standard OpenID Connect scopes (OpenID Connect Core §5.4, §11).</summary>
public static class Scopes
{
    public const string OpenId = OpenIddictConstants.Scopes.OpenId;
    public const string Profile = OpenIddictConstants.Scopes.Profile;
    public const string Email = OpenIddictConstants.Scopes.Email;
    public const string OfflineAccess = OpenIddictConstants.Scopes.OfflineAccess;

    /// <summary>The built-in API scope of the admin API; its audience is the issuer itself.</summary>
    public const string Admin = "idp.admin";

    /// <summary>The identity scopes this server supports.</summary>
    public static readonly IReadOnlySet<string> Identity = new HashSet<string>(StringComparer.Ordinal)
    {
        OpenId, Profile, Email, OfflineAccess,
    };

    /// <summary>Splits a space-delimited <c>scope</c> value (RFC 6749 §3.3) into distinct tokens, order kept.</summary>
    public static IReadOnlyList<string> Parse(string? scope) =>
        string.IsNullOrEmpty(scope) ? [] : scope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToArray();

    /// <summary>Joins scopes with single spaces.</summary>
    public static string Join(IEnumerable<string> scopes) => string.Join(' ', scopes);

    /// <summary>True when a scope token uses only the characters RFC 6749 §3.3 allows (%x21 / %x23-5B / %x5D-7E).</summary>
    public static bool IsWellFormed(string token) =>
        token.Length > 0 && token.All(c => c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E));
}
