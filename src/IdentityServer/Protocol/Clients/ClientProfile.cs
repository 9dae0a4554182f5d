namespace IdentityServer.Protocol.Clients;

/// <summary>
/// A registered client as this server sees it: an OpenIddict application (client id and type, redirect URIs, grant types and
/// scopes as permissions, consent type, per-client token lifetimes as settings) plus our own settings, kept in the
/// application's properties. Read and written through <see cref="ClientApplicationManager"/>.
/// </summary>
/// <remarks>Metadata names follow OpenID Connect Dynamic Client Registration 1.0 §2 and RFC 7591 §2.</remarks>
public sealed record ClientProfile
{
    /// <summary>The <c>client_id</c> (RFC 6749 §2.2): 1 to 100 printable ASCII characters, unique, compared exactly.</summary>
    public required string ClientId { get; init; }

    /// <summary>Name shown to people on sign-in, consent and device pages.</summary>
    public string? DisplayName { get; init; }

    /// <summary>True for a confidential client, which authenticates with a secret (RFC 6749 §2.1).</summary>
    public bool Confidential { get; init; }

    /// <summary>False disables the client: every request from it fails as if it were unknown.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Registered redirection URIs, matched exactly (RFC 9700 §4.1.3), loopback port excepted (RFC 8252 §7.3).</summary>
    public IReadOnlyList<string> RedirectUris { get; init; } = [];

    /// <summary>Registered post-logout redirection URIs (OpenID Connect RP-Initiated Logout 1.0 §3), matched exactly.</summary>
    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];

    /// <summary>Grant types the client may use: <c>authorization_code</c>, <c>refresh_token</c>, <c>client_credentials</c>, <c>urn:ietf:params:oauth:grant-type:device_code</c>.</summary>
    public IReadOnlyList<string> GrantTypes { get; init; } = [];

    /// <summary>Scopes the client may request (identity scopes and API scopes).</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>True: the end-user consents to the requested scopes (remembered per user, client and scopes).</summary>
    public bool RequireConsent { get; init; }

    /// <summary>True: the end-user must have signed in with a second factor or a passkey (<c>amr</c> contains <c>mfa</c>, RFC 8176) before the client gets a code or a device approval.</summary>
    public bool RequireMfa { get; init; }

    /// <summary>JWS algorithm of this client's ID tokens and logout tokens (OpenID Connect Dynamic Client Registration §2 <c>id_token_signed_response_alg</c>); null for the server default.</summary>
    public string? IdTokenSignedResponseAlg { get; init; }

    /// <summary>Where this client receives logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.2); null for none.</summary>
    public string? BackChannelLogoutUri { get; init; }

    /// <summary>Access token lifetime for this client, seconds; null for the server default.</summary>
    public int? AccessTokenLifetimeSeconds { get; init; }

    /// <summary>Refresh token sliding lifetime for this client, seconds; null for the server default.</summary>
    public int? RefreshTokenLifetimeSeconds { get; init; }

    /// <summary><see cref="ClientSources.Configuration"/> for clients declared in settings (authoritative there), <see cref="ClientSources.Admin"/> otherwise.</summary>
    public string Source { get; init; } = ClientSources.Admin;

    /// <summary>The stored secrets (hashes and times only); empty for a public client. Read-only here: secrets change through the manager.</summary>
    public IReadOnlyList<StoredClientSecret> Secrets { get; init; } = [];

    /// <summary>When the client was registered.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When its settings last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>True when the client may use <paramref name="grantType"/>.</summary>
    public bool AllowsGrantType(string grantType) => GrantTypes.Contains(grantType, StringComparer.Ordinal);

    /// <summary>The name to show people: the display name, else the client id.</summary>
    public string Name => string.IsNullOrWhiteSpace(DisplayName) ? ClientId : DisplayName;
}

/// <summary>Where a client's definition comes from.</summary>
public static class ClientSources
{
    /// <summary>Declared in configuration and upserted at start-up; configuration stays authoritative.</summary>
    public const string Configuration = "configuration";

    /// <summary>Registered by an admin (UI, API or command line).</summary>
    public const string Admin = "admin";
}

/// <summary>The grant types a client may be registered for (RFC 6749 §4, RFC 8628 §3.4); no implicit, no password grant (RFC 9700 §2.1.2, §2.4).</summary>
public static class SupportedGrantTypes
{
    /// <summary>The set, compared exactly.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal)
    {
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode, OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.RefreshToken,
        OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials, OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.DeviceCode,
    };
}
