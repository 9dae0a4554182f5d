namespace IdentityServer.Protocol.Clients;

/// <summary>A registered OAuth client as the protocol sees it.</summary>
/// <remarks>RFC 6749 §2 (client types and registration), OpenID Connect Dynamic Client Registration §2 (metadata names).</remarks>
public sealed class Client
{
    /// <summary>The <c>client_id</c>, unique (RFC 6749 §2.2).</summary>
    public required string ClientId { get; init; }

    /// <summary>Name shown to people on consent and error pages.</summary>
    public string? DisplayName { get; init; }

    /// <summary>False disables the client: every request from it fails as if unknown.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Hashed secrets; empty for a public client (RFC 6749 §2.1).</summary>
    public IReadOnlyList<ClientSecret> Secrets { get; init; } = [];

    /// <summary>True for a confidential client: it authenticates with a secret.</summary>
    public bool IsConfidential => Secrets.Count > 0;

    /// <summary>Registered redirection URIs, matched exactly (RFC 9700 §4.1.3), loopback port excepted (RFC 8252 §7.3).</summary>
    public IReadOnlyList<string> RedirectUris { get; init; } = [];

    /// <summary>Registered post-logout redirection URIs (OpenID Connect RP-Initiated Logout §3).</summary>
    public IReadOnlyList<string> PostLogoutRedirectUris { get; init; } = [];

    /// <summary>Grant types the client may use, e.g. <c>authorization_code</c>, <c>refresh_token</c>, <c>client_credentials</c>.</summary>
    public IReadOnlyList<string> GrantTypes { get; init; } = [];

    /// <summary>Scopes the client may request.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>When true the end-user must consent to the requested scopes (remembered per user, client and scopes).</summary>
    public bool RequireConsent { get; init; }

    /// <summary>When true the end-user must have signed in with a second factor or a passkey (<c>amr</c> contains <c>mfa</c>, RFC 8176) before the client gets a code or a device approval.</summary>
    public bool RequireMfa { get; init; }

    /// <summary>JWS algorithm for this client's ID tokens (OpenID Connect Dynamic Client Registration §2 <c>id_token_signed_response_alg</c>); null for the server default.</summary>
    public string? IdTokenSignedResponseAlg { get; init; }

    /// <summary>Where this client receives logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.2); null for none.</summary>
    public string? BackChannelLogoutUri { get; init; }

    /// <summary>Access token lifetime for this client, seconds; null for the server default (<c>Lifetimes:AccessTokenSeconds</c>).</summary>
    public int? AccessTokenLifetimeSeconds { get; init; }

    /// <summary>Refresh token sliding lifetime for this client, seconds; null for the server default (<c>Lifetimes:RefreshTokenSlidingSeconds</c>).</summary>
    public int? RefreshTokenLifetimeSeconds { get; init; }

    /// <summary>True when the client may use <paramref name="grantType"/>.</summary>
    public bool AllowsGrantType(string grantType) => GrantTypes.Contains(grantType, StringComparer.Ordinal);
}

/// <summary>A hashed client secret with an optional expiry (several may overlap during rotation).</summary>
/// <param name="Hash">Base64url SHA-256 of the secret's UTF-8 bytes (<see cref="ClientSecretHasher"/>).</param>
/// <param name="ExpiresAt">Null for no expiry.</param>
public sealed record ClientSecret(string Hash, DateTimeOffset? ExpiresAt = null);
