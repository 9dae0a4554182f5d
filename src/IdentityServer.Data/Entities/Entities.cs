using Microsoft.AspNetCore.Identity;

namespace IdentityServer.Data.Entities;

/// <summary>An end-user account (ASP.NET Core Identity). <c>Id</c> is the OIDC <c>sub</c>.</summary>
public sealed class ApplicationUser : IdentityUser
{
    /// <summary>Full name for the <c>name</c> claim; null when unknown.</summary>
    public string? DisplayName { get; set; }

    /// <summary>The newest TOTP time step accepted for this user (RFC 6238 §5.2: a code is accepted once); null before the first.</summary>
    public long? LastTotpStep { get; set; }
}

/// <summary>When a passkey last signed someone in (table <c>PasskeyUsage</c>); Identity's passkey record has no such field.</summary>
public sealed class PasskeyUsageEntity
{
    /// <summary>The credential id, base64url.</summary>
    public required string CredentialId { get; set; }
    public required string UserId { get; set; }
    public DateTimeOffset LastUsedAt { get; set; }
}

/// <summary>A WebAuthn challenge that has been used (table <c>ConsumedChallenges</c>), by SHA-256; a second use is a replay.</summary>
public sealed class ConsumedChallengeEntity
{
    public required string ChallengeHash { get; set; }
    public DateTimeOffset ConsumedAt { get; set; }
    /// <summary>After this the ceremony state that carried the challenge has expired; the row can go.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>An audit record (table <c>AuditEvents</c>); see <c>IAuditLog</c>. Holds no secret.</summary>
public sealed class AuditEventEntity
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    public required string Event { get; set; }
    public required string ActorType { get; set; }
    public string? ActorId { get; set; }
    public string? SubjectType { get; set; }
    public string? SubjectId { get; set; }
    public string? Reason { get; set; }
    /// <summary>JSON snapshot before a change, without secrets.</summary>
    public string? Before { get; set; }
    /// <summary>JSON snapshot after a change, without secrets.</summary>
    public string? After { get; set; }
    /// <summary>The caller's IP address, when there was a request.</summary>
    public string? Address { get; set; }
}

/// <summary>A named lease (table <c>Leases</c>): whoever holds it until <see cref="ExpiresAt"/> runs the named job, once across nodes.</summary>
public sealed class LeaseEntity
{
    public required string Name { get; set; }
    public string? Holder { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>A signing key (table <c>SigningKeys</c>). The private key is PKCS#8 protected by ASP.NET Data Protection.</summary>
public sealed class SigningKeyEntity
{
    /// <summary>The <c>kid</c>.</summary>
    public required string Id { get; set; }
    /// <summary>JWS <c>alg</c>, e.g. <c>RS256</c>.</summary>
    public required string Algorithm { get; set; }
    /// <summary>Data-Protection-protected PKCS#8 private key, base64.</summary>
    public required string ProtectedPrivateKey { get; set; }
    /// <summary>The public JWK as JSON.</summary>
    public required string PublicJwk { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>When the key started signing; null while only published.</summary>
    public DateTimeOffset? ActivatedAt { get; set; }
    /// <summary>When the key stopped signing; it stays published for validation.</summary>
    public DateTimeOffset? RetiredAt { get; set; }
    /// <summary>When the key was withdrawn as compromised: from then on it neither signs nor validates.</summary>
    public DateTimeOffset? WithdrawnAt { get; set; }
}

/// <summary>
/// A symmetric key that encrypts the tokens this server keeps to itself (authorization codes, refresh tokens, device and user
/// codes: JWE, RFC 7516) (table <c>TokenEncryptionKeys</c>). The key is protected by ASP.NET Data Protection. The newest encrypts;
/// every one decrypts.
/// </summary>
public sealed class TokenEncryptionKeyEntity
{
    /// <summary>The <c>kid</c> of the JWE header.</summary>
    public required string Id { get; set; }
    /// <summary>Data-Protection-protected 256-bit key, base64.</summary>
    public required string ProtectedKey { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// An access token revoked before its expiry (table <c>RevokedAccessTokens</c>), by its <c>jti</c> (RFC 7009 §2.1). Access tokens
/// have no row of their own; this list is what keeps a revoked one refused wherever a token of this server is validated. A row
/// can go once <see cref="ExpiresAt"/> has passed: the token is refused as expired from then on.
/// </summary>
public sealed class RevokedAccessTokenEntity
{
    public required string Jti { get; set; }
    /// <summary>The token's own <c>exp</c>.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset RevokedAt { get; set; }
}

/// <summary>
/// How a device polls the token endpoint with its device code (table <c>DevicePolls</c>; RFC 8628 §3.5): the interval it must keep,
/// raised by 5 seconds on each <c>slow_down</c>, and when it last polled. Keyed by the OpenIddict token entry of the device code.
/// </summary>
public sealed class DevicePollEntity
{
    /// <summary>The device code's token entry id (table <c>OpenIddictTokens</c>).</summary>
    public required string DeviceCodeId { get; set; }
    /// <summary>Current minimum seconds between polls.</summary>
    public int IntervalSeconds { get; set; }
    public DateTimeOffset LastPolledAt { get; set; }
    /// <summary>When the device code expires; the row can go after it.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}

/// <summary>
/// A client an end-user's browser session (<c>sid</c>) signed in to (table <c>SessionClients</c>), recorded when the authorization
/// endpoint issues a code: the clients to notify by back-channel logout when the session ends (OpenID Connect Back-Channel Logout
/// 1.0 §2.5), whatever became of the tokens.
/// </summary>
public sealed class SessionClientEntity
{
    public required string SessionId { get; set; }
    public required string ClientId { get; set; }
    public required string SubjectId { get; set; }
    public DateTimeOffset SignedInAt { get; set; }
}

/// <summary>
/// Attempts in the current window, per key (table <c>ClientAuthenticationFailures</c>, named after its first use): failed client
/// authentications under <c>client:{client_id}</c> or <c>address:{IP}</c> (RFC 6749 §2.3.1), user-code entries under
/// <c>usercode-session:…</c> or <c>usercode-address:…</c> (RFC 8628 §5.1). Shared by every node, so a guesser cannot spread attempts over nodes.
/// </summary>
public sealed class ClientAuthenticationFailureEntity
{
    /// <summary><c>client:</c> and the client_id, or <c>address:</c> and the client's IP address.</summary>
    public required string Key { get; set; }
    /// <summary>When the window of <see cref="Count"/> started.</summary>
    public DateTimeOffset WindowStart { get; set; }
    /// <summary>Failures since <see cref="WindowStart"/>.</summary>
    public int Count { get; set; }
    /// <summary>Whether the count passed its limit in this window (so the throttling is audited once).</summary>
    public bool Throttled { get; set; }
}
