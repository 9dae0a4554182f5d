namespace IdentityServer.Options;

/// <summary>Configuration section <c>IdentityServer</c>; every key is documented in <c>appsettings.sample.json</c>.</summary>
public sealed class IdentityServerOptions
{
    /// <summary>Name of the configuration section.</summary>
    public const string SectionName = "IdentityServer";

    /// <summary>The issuer identifier: an absolute URL with no path, query or fragment (OpenID Connect Discovery §3). Outside Development it must be https unless its host is loopback.</summary>
    public string Issuer { get; set; } = "http://localhost:5000";

    /// <summary>Token and artefact lifetimes.</summary>
    public LifetimeOptions Lifetimes { get; set; } = new();

    /// <summary>Device Authorization Grant settings (RFC 8628).</summary>
    public DeviceFlowOptions DeviceFlow { get; set; } = new();

    /// <summary>Passkey (WebAuthn) relying-party settings.</summary>
    public PasskeyOptions Passkeys { get; set; } = new();

    /// <summary>Signing keys: algorithms and rotation.</summary>
    public KeyOptions Keys { get; set; } = new();

    /// <summary>The background job that removes expired and revoked artefacts.</summary>
    public CleanupOptions Cleanup { get; set; } = new();

    /// <summary>Administration settings.</summary>
    public AdminOptions Admin { get; set; } = new();

    /// <summary>HTTP Strict Transport Security, sent when the issuer is https.</summary>
    public HstsOptions Hsts { get; set; } = new();

    /// <summary>Limits on failed client authentications (guessing client secrets).</summary>
    public ClientAuthenticationOptions ClientAuthentication { get; set; } = new();

    /// <summary>The Prometheus scrape endpoint <c>/metrics</c>.</summary>
    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>Caches of data that admins change (section <c>Cache</c>).</summary>
    public CacheOptions Cache { get; set; } = new();

    /// <summary>Clients declared in configuration; upserted at start-up.</summary>
    public List<ClientOptions> Clients { get; set; } = [];

    /// <summary>API scopes and the audiences they name.</summary>
    public List<ApiScopeOptions> ApiScopes { get; set; } = [];

    /// <summary>Users created at start-up when absent (development and tests).</summary>
    public List<SeedUserOptions> Users { get; set; } = [];

    /// <summary>The issuer without a trailing slash, for building endpoint URLs.</summary>
    public string IssuerBase => Issuer.TrimEnd('/');
}

/// <summary>
/// Limits on failed client authentications (section <c>IdentityServer:ClientAuthentication</c>; RFC 6749 §2.3.1: the server must protect
/// the endpoints that authenticate clients against brute force). Failures are counted per <c>client_id</c> and per client address in
/// fixed windows, in the database, so every node sees the same counts. Once a count reaches its limit, every request of that client
/// (or from that address) is answered 429 with <c>Retry-After</c> until the window ends, the right secret included; so a client that
/// someone else is attacking is refused for at most one window after the attack stops.
/// </summary>
public sealed class ClientAuthenticationOptions
{
    /// <summary>Failures one client_id may have per window before it is refused (default 10).</summary>
    public int FailuresPerClient { get; set; } = 10;

    /// <summary>Failures one client address may cause per window, for any client_id, before it is refused (default 30).</summary>
    public int FailuresPerAddress { get; set; } = 30;

    /// <summary>The window, seconds (default 300).</summary>
    public int WindowSeconds { get; set; } = 300;
}

/// <summary>
/// Caches of data that admins change (section <c>IdentityServer:Cache</c>). Each node keeps its own; a change made through a node
/// applies on that node at once, and on every other node within the stated number of seconds.
/// </summary>
public sealed class CacheOptions
{
    /// <summary>How long a node uses a client as it read it, seconds (default 5; 0 reads the database on every lookup; at most 300).</summary>
    public int ClientSeconds { get; set; } = 5;
}

/// <summary>
/// The Prometheus scrape endpoint (section <c>IdentityServer:Metrics</c>). <c>GET /metrics</c> answers callers on the node's own
/// machine (loopback) and, when <see cref="BearerToken"/> is set, callers that send it as <c>Authorization: Bearer …</c>
/// (RFC 6750 §2.1). Anyone else gets 401 with <c>WWW-Authenticate: Bearer</c> when a token is configured, else 403. OTLP export
/// is set with OpenTelemetry's own variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_SERVICE_NAME</c>, …).
/// </summary>
public sealed class MetricsOptions
{
    /// <summary>Serves <c>/metrics</c> (default true). Off, the path is not found; OTLP export does not depend on it.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The bearer secret a remote scraper sends (at least 32 characters), or null or blank for loopback only (default). Compared in constant time.
    /// Scrapes go to each node directly, over the internal network and plain http (RFC 6750 §5.3 asks for TLS: keep that network
    /// private, as the compose file's is, or put the scraper on the node's machine).
    /// </summary>
    public string? BearerToken { get; set; }
}

/// <summary>
/// HTTP Strict Transport Security (RFC 6797), section <c>IdentityServer:Hsts</c>. When the issuer is https, every response that went
/// over https (directly, or through a proxy that says so in <c>X-Forwarded-Proto</c>) carries <c>Strict-Transport-Security</c>, so
/// browsers never again try the server over plain http. Plain-http responses never carry it (RFC 6797 §7.2).
/// </summary>
public sealed class HstsOptions
{
    /// <summary><c>max-age</c>, seconds (default 31536000, one year).</summary>
    public int MaxAgeSeconds { get; set; } = 31536000;

    /// <summary>Adds <c>includeSubDomains</c>: every subdomain of the issuer's host must then be https too (default false).</summary>
    public bool IncludeSubDomains { get; set; }
}

/// <summary>Lifetimes in seconds (section <c>IdentityServer:Lifetimes</c>).</summary>
public sealed class LifetimeOptions
{
    /// <summary>Authorization code lifetime, seconds: 1 to 60 (default 60; RFC 9700 §4.5 asks for short-lived codes).</summary>
    public int AuthorizationCodeSeconds { get; set; } = 60;

    /// <summary>Access token lifetime, seconds (default 3600).</summary>
    public int AccessTokenSeconds { get; set; } = 3600;

    /// <summary>ID token lifetime, seconds (default 300).</summary>
    public int IdTokenSeconds { get; set; } = 300;

    /// <summary>Refresh token sliding lifetime, seconds: each rotation extends to now + this (default 14 days).</summary>
    public int RefreshTokenSlidingSeconds { get; set; } = 14 * 24 * 3600;

    /// <summary>Refresh token absolute lifetime, seconds from the original authorization (default 30 days).</summary>
    public int RefreshTokenAbsoluteSeconds { get; set; } = 30 * 24 * 3600;

    /// <summary>
    /// Seconds during which a rotated refresh token may be presented again without counting as reuse, for clients that lose a
    /// response on a flaky network (default 0: any second use revokes the whole authorization, RFC 9700 §4.14.2).
    /// </summary>
    public int RefreshTokenReuseLeewaySeconds { get; set; }
}

/// <summary>Device Authorization Grant settings (section <c>IdentityServer:DeviceFlow</c>; RFC 8628).</summary>
public sealed class DeviceFlowOptions
{
    /// <summary>Lifetime of a device code and its user code, seconds: 60 to 1800 (default 600; RFC 8628 §3.2 <c>expires_in</c>).</summary>
    public int DeviceCodeLifetimeSeconds { get; set; } = 600;

    /// <summary>Minimum seconds between polls, sent as <c>interval</c>: 1 to 60 (default 5; RFC 8628 §3.2). Each <c>slow_down</c> adds 5 for that device code.</summary>
    public int PollingIntervalSeconds { get; set; } = 5;

    /// <summary>User codes (right or wrong) one client address may submit per <see cref="UserCodeAttemptWindowSeconds"/> (default 20; RFC 8628 §5.1).</summary>
    public int UserCodeAttemptsPerAddress { get; set; } = 20;

    /// <summary>User codes (right or wrong) one browser session may submit per <see cref="UserCodeAttemptWindowSeconds"/> (default 5).</summary>
    public int UserCodeAttemptsPerSession { get; set; } = 5;

    /// <summary>The window of the two limits above, seconds (default 300); the counts are shared by every node through the database.</summary>
    public int UserCodeAttemptWindowSeconds { get; set; } = 300;
}

/// <summary>
/// Signing keys (section <c>IdentityServer:Keys</c>). Each key is published (in JWKS, not yet signing), then active (signing), then
/// retired (still in JWKS so tokens it signed validate until they expire), then gone.
/// </summary>
public sealed class KeyOptions
{
    /// <summary>JWS algorithms with a key each: <c>RS256</c>, <c>PS256</c>, <c>ES256</c>; empty means RS256. The first signs access tokens and, unless a client asks for another, ID tokens.</summary>
    /// <remarks>Empty by default because configuration binding appends to a list's initial items.</remarks>
    public List<string> Algorithms { get; set; } = [];

    /// <summary>The algorithms in effect: <see cref="Algorithms"/> without repeats, or RS256 alone.</summary>
    public IReadOnlyList<string> EffectiveAlgorithms => Algorithms.Count == 0 ? ["RS256"] : Algorithms.Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Days a key signs before its successor takes over (default 90).</summary>
    public int RotationDays { get; set; } = 90;

    /// <summary>Days a successor is published before it starts signing, so every relying party's JWKS cache has it (default 7).</summary>
    public int PublishLeadDays { get; set; } = 7;

    /// <summary>Days a retired key stays published: longer than any token it signed lives (default 2; tokens live at most 1 day).</summary>
    public int RetiredPublishedDays { get; set; } = 2;
}

/// <summary>The cleanup job (section <c>IdentityServer:Cleanup</c>).</summary>
public sealed class CleanupOptions
{
    /// <summary>False turns the job off (e.g. when an external job does it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Seconds between runs; one node runs per interval (default 3600).</summary>
    public int IntervalSeconds { get; set; } = 3600;

    /// <summary>Seconds an expired, used or revoked artefact is kept before removal, for investigations (default 86400).</summary>
    public int RetentionSeconds { get; set; } = 86400;

    /// <summary>Rows deleted per statement, so no statement holds locks long (default 500).</summary>
    public int BatchSize { get; set; } = 500;
}

/// <summary>Administration settings (section <c>IdentityServer:Admin</c>).</summary>
public sealed class AdminOptions
{
    /// <summary>
    /// When true, the admin UI is open only to admins who signed in with a second factor or a passkey (<c>amr</c> has
    /// <c>mfa</c>). Null (default): true in the Production environment, false elsewhere.
    /// </summary>
    public bool? RequireMfa { get; set; }
}

/// <summary>Passkey (WebAuthn Level 3) relying-party settings (section <c>IdentityServer:Passkeys</c>).</summary>
public sealed class PasskeyOptions
{
    /// <summary>The RP ID (WebAuthn §5.1.2 <c>rp.id</c>): a registrable domain equal to or a parent of the issuer's host; credentials are bound to it. Default: the issuer's host.</summary>
    public string? ServerDomain { get; set; }

    /// <summary>Origins (<c>scheme://host[:port]</c>) whose ceremonies are accepted (WebAuthn §7.1 step 9, §7.2 step 13). Default: the issuer's origin.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>The RP ID in effect: <see cref="ServerDomain"/> or the host of <paramref name="issuer"/>.</summary>
    public string EffectiveServerDomain(string issuer) => string.IsNullOrWhiteSpace(ServerDomain) ? new Uri(issuer).Host : ServerDomain;

    /// <summary>False when the RP ID in effect is an IP address, which WebAuthn refuses (§5.1.2): then the pages offer no passkeys.</summary>
    public bool IsAvailable(string issuer) => Uri.CheckHostName(EffectiveServerDomain(issuer)) is not (UriHostNameType.IPv4 or UriHostNameType.IPv6);

    /// <summary>The origins in effect: <see cref="AllowedOrigins"/>, or the origin of <paramref name="issuer"/>.</summary>
    public IReadOnlyList<string> EffectiveOrigins(string issuer) =>
        AllowedOrigins.Count > 0 ? AllowedOrigins.Select(o => o.TrimEnd('/')).ToArray() : [new Uri(issuer).GetLeftPart(UriPartial.Authority)];
}

/// <summary>A client declared in configuration (section <c>IdentityServer:Clients:N</c>).</summary>
public sealed class ClientOptions
{
    /// <summary>The <c>client_id</c>. Required.</summary>
    public string ClientId { get; set; } = "";

    /// <summary>The secret in clear text (≥ 43 characters: 256 random bits as base64url); absent for a public client. Only its SHA-256 is stored.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>Name shown to people.</summary>
    public string? DisplayName { get; set; }

    /// <summary>Exact redirection URIs.</summary>
    public List<string> RedirectUris { get; set; } = [];

    /// <summary>Exact post-logout redirection URIs.</summary>
    public List<string> PostLogoutRedirectUris { get; set; } = [];

    /// <summary>Allowed grant types: <c>authorization_code</c>, <c>refresh_token</c>, <c>client_credentials</c>, <c>urn:ietf:params:oauth:grant-type:device_code</c>.</summary>
    public List<string> GrantTypes { get; set; } = [];

    /// <summary>Allowed scopes.</summary>
    public List<string> Scopes { get; set; } = [];

    /// <summary>Ask the end-user to consent.</summary>
    public bool RequireConsent { get; set; }

    /// <summary>Demand a second factor (TOTP, recovery code) or a passkey before the client gets a code or a device approval.</summary>
    public bool RequireMfa { get; set; }

    /// <summary><c>id_token_signed_response_alg</c>: one of <c>IdentityServer:Keys:Algorithms</c>; null for the first of them.</summary>
    public string? IdTokenSignedResponseAlg { get; set; }

    /// <summary>Absolute URL that receives back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0); null for none.</summary>
    public string? BackChannelLogoutUri { get; set; }

    /// <summary>Longest access token lifetime a client may be given, seconds (one day).</summary>
    public const int MaxAccessTokenLifetimeSeconds = 86400;

    /// <summary>Access token lifetime for this client, seconds (60 to <see cref="MaxAccessTokenLifetimeSeconds"/>); null for <c>Lifetimes:AccessTokenSeconds</c>.</summary>
    public int? AccessTokenLifetimeSeconds { get; set; }

    /// <summary>Refresh token sliding lifetime for this client, seconds (300 up to the absolute lifetime); null for <c>Lifetimes:RefreshTokenSlidingSeconds</c>.</summary>
    public int? RefreshTokenLifetimeSeconds { get; set; }
}

/// <summary>An API scope (section <c>IdentityServer:ApiScopes:N</c>).</summary>
public sealed class ApiScopeOptions
{
    /// <summary>The scope token.</summary>
    public string Name { get; set; } = "";

    /// <summary>Text shown on the consent page.</summary>
    public string? DisplayName { get; set; }

    /// <summary>The <c>aud</c> of access tokens that carry the scope; defaults to the scope name.</summary>
    public string? Audience { get; set; }
}

/// <summary>A user seeded at start-up when no user of that name exists (section <c>IdentityServer:Users:N</c>).</summary>
public sealed class SeedUserOptions
{
    /// <summary>Shortest password accepted, for every account (NIST SP 800-63B §5.1.1.2: length, not composition rules).</summary>
    public const int MinimumPasswordLength = 12;

    /// <summary>User name.</summary>
    public string UserName { get; set; } = "";

    /// <summary>E-mail address (seeded as verified).</summary>
    public string? Email { get; set; }

    /// <summary>Password in clear text (hashed by Identity before storage).</summary>
    public string Password { get; set; } = "";

    /// <summary>Role names.</summary>
    public List<string> Roles { get; set; } = [];
}
