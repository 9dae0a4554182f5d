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

/// <summary>A registered client (table <c>Clients</c>).</summary>
public sealed class ClientEntity
{
    public int Id { get; set; }
    /// <summary>The <c>client_id</c>; unique.</summary>
    public required string ClientId { get; set; }
    public string? DisplayName { get; set; }
    public bool Enabled { get; set; } = true;
    public List<string> RedirectUris { get; set; } = [];
    public List<string> PostLogoutRedirectUris { get; set; } = [];
    public List<string> GrantTypes { get; set; } = [];
    public List<string> Scopes { get; set; } = [];
    public bool RequireConsent { get; set; }
    /// <summary>People must sign in with a second factor or a passkey before this client gets a code.</summary>
    public bool RequireMfa { get; set; }
    /// <summary>ID token signing algorithm; null for the server default.</summary>
    public string? IdTokenSignedResponseAlg { get; set; }
    /// <summary>Back-channel logout URL; null for none.</summary>
    public string? BackChannelLogoutUri { get; set; }
    /// <summary>Access token lifetime, seconds; null for the server default.</summary>
    public int? AccessTokenLifetimeSeconds { get; set; }
    /// <summary>Refresh token sliding lifetime, seconds; null for the server default.</summary>
    public int? RefreshTokenLifetimeSeconds { get; set; }
    /// <summary><c>configuration</c> for clients declared in settings (upserted at start-up), <c>admin</c> otherwise.</summary>
    public string Source { get; set; } = ClientSources.Admin;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<ClientSecretEntity> Secrets { get; set; } = [];
}

/// <summary>Where a client's definition comes from.</summary>
public static class ClientSources
{
    public const string Configuration = "configuration";
    public const string Admin = "admin";
}

/// <summary>A client secret, stored only as base64url SHA-256 (table <c>ClientSecrets</c>).</summary>
public sealed class ClientSecretEntity
{
    public int Id { get; set; }
    public int ClientEntityId { get; set; }
    public required string Hash { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>A grant: one authorization, the root of a token family (table <c>Grants</c>).</summary>
public sealed class GrantEntity
{
    public required string Id { get; set; }
    public required string SubjectId { get; set; }
    public required string ClientId { get; set; }
    public List<string> Scopes { get; set; } = [];
    public DateTimeOffset AuthTime { get; set; }
    public List<string> Amr { get; set; } = [];
    public string? SessionId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>An authorization code by SHA-256 hash (table <c>AuthorizationCodes</c>).</summary>
public sealed class AuthorizationCodeEntity
{
    public required string CodeHash { get; set; }
    public required string GrantId { get; set; }
    public required string ClientId { get; set; }
    public required string RedirectUri { get; set; }
    public required string CodeChallenge { get; set; }
    public string? Nonce { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RedeemedAt { get; set; }
}

/// <summary>A refresh token by SHA-256 hash (table <c>RefreshTokens</c>).</summary>
public sealed class RefreshTokenEntity
{
    public required string TokenHash { get; set; }
    public required string GrantId { get; set; }
    public required string ClientId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? ConsumedAt { get; set; }
}

/// <summary>An issued access token by <c>jti</c> (table <c>AccessTokens</c>); holds no token material.</summary>
public sealed class AccessTokenEntity
{
    public required string Jti { get; set; }
    public string? GrantId { get; set; }
    public required string ClientId { get; set; }
    public string? SubjectId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A device authorization (RFC 8628), codes by SHA-256 hash only (table <c>DeviceCodes</c>).</summary>
public sealed class DeviceCodeEntity
{
    /// <summary>Random id used by the verification pages; not secret.</summary>
    public required string Id { get; set; }
    /// <summary>SHA-256 of the <c>device_code</c>; unique.</summary>
    public required string DeviceCodeHash { get; set; }
    /// <summary>SHA-256 of the normalized <c>user_code</c>; unique.</summary>
    public required string UserCodeHash { get; set; }
    public required string ClientId { get; set; }
    public List<string> Scopes { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
    /// <summary>Current minimum polling interval, seconds.</summary>
    public int IntervalSeconds { get; set; }
    public DateTimeOffset? LastPolledAt { get; set; }
    /// <summary><c>Pending</c>, <c>Approved</c>, <c>Denied</c> or <c>Redeemed</c>.</summary>
    public required string Status { get; set; }
    /// <summary>The approving end-user, how and when they signed in; set on approval.</summary>
    public string? SubjectId { get; set; }
    public DateTimeOffset? AuthTime { get; set; }
    public List<string> Amr { get; set; } = [];
    public DateTimeOffset? DecidedAt { get; set; }
    public DateTimeOffset? RedeemedAt { get; set; }
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

/// <summary>Remembered consent of one user for one client (table <c>Consents</c>).</summary>
public sealed class ConsentEntity
{
    public required string SubjectId { get; set; }
    public required string ClientId { get; set; }
    public List<string> Scopes { get; set; } = [];
    public DateTimeOffset UpdatedAt { get; set; }
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

/// <summary>An element of the ASP.NET Data Protection key ring (table <c>DataProtectionKeys</c>).</summary>
public sealed class DataProtectionKeyEntity
{
    public int Id { get; set; }
    public string? FriendlyName { get; set; }
    public required string Xml { get; set; }
}
