namespace IdentityServer.Protocol.Stores;

/// <summary>
/// Persistence for grants (token families) and the artefacts issued from them. Opaque values are
/// handed over only as SHA-256 hashes. The single-use operations are atomic in the database, so
/// concurrent callers on any number of nodes see at most one success.
/// </summary>
public interface IGrantStore
{
    /// <summary>Stores a new grant (one end-user's authorization of one client for a set of scopes).</summary>
    Task CreateGrantAsync(GrantRecord grant, CancellationToken cancellationToken = default);

    /// <summary>The grant, or null when unknown.</summary>
    Task<GrantRecord?> FindGrantAsync(string grantId, CancellationToken cancellationToken = default);

    /// <summary>Revokes the grant and therefore every code, refresh token and access token issued from it (RFC 6749 §4.1.2, RFC 9700 §4.14.2). Idempotent.</summary>
    Task RevokeGrantAsync(string grantId, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Stores an authorization code by hash.</summary>
    Task StoreAuthorizationCodeAsync(AuthorizationCodeRecord code, CancellationToken cancellationToken = default);

    /// <summary>The code with this hash, or null.</summary>
    Task<AuthorizationCodeRecord?> FindAuthorizationCodeAsync(string codeHash, CancellationToken cancellationToken = default);

    /// <summary>Marks the code redeemed if it is not yet; true for the one caller that did so.</summary>
    Task<bool> TryRedeemAuthorizationCodeAsync(string codeHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Stores a refresh token by hash.</summary>
    Task StoreRefreshTokenAsync(RefreshTokenRecord token, CancellationToken cancellationToken = default);

    /// <summary>The refresh token with this hash, or null.</summary>
    Task<RefreshTokenRecord?> FindRefreshTokenAsync(string tokenHash, CancellationToken cancellationToken = default);

    /// <summary>Marks the refresh token consumed (rotated) if it is not yet; true for the one caller that did so.</summary>
    Task<bool> TryConsumeRefreshTokenAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Records an issued access token by its <c>jti</c>, so it can be revoked with its grant.</summary>
    Task StoreAccessTokenAsync(AccessTokenRecord token, CancellationToken cancellationToken = default);

    /// <summary>The distinct <c>client_id</c>s with a grant from the server session <paramref name="sessionId"/> (<c>sid</c>).</summary>
    Task<IReadOnlyList<string>> ClientIdsForSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>Revokes the one access token <paramref name="jti"/> (RFC 7009 §2); its grant stays. Idempotent.</summary>
    Task RevokeAccessTokenAsync(string jti, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>True when the access token <paramref name="jti"/> was issued here and neither it nor its grant is revoked.</summary>
    Task<bool> IsAccessTokenActiveAsync(string jti, CancellationToken cancellationToken = default);
}

/// <summary>A grant: the family of tokens that stems from one authorization.</summary>
/// <param name="Id">Random identifier (not secret, never sent to clients).</param>
/// <param name="SubjectId">The end-user's <c>sub</c>.</param>
/// <param name="ClientId">The client the grant belongs to.</param>
/// <param name="Scopes">The granted scopes.</param>
/// <param name="AuthTime">When the end-user authenticated (<c>auth_time</c>).</param>
/// <param name="Amr">Authentication methods references (RFC 8176).</param>
/// <param name="SessionId">The server session (<c>sid</c>), if any.</param>
/// <param name="CreatedAt">Creation time.</param>
/// <param name="ExpiresAt">Absolute end of the family: no refresh token outlives it.</param>
/// <param name="RevokedAt">Null while active.</param>
public sealed record GrantRecord(
    string Id, string SubjectId, string ClientId, IReadOnlyList<string> Scopes,
    DateTimeOffset AuthTime, IReadOnlyList<string> Amr, string? SessionId,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RevokedAt = null);

/// <summary>An authorization code, bound to client, redirect URI and PKCE challenge (RFC 6749 §4.1.2, RFC 7636 §4.4).</summary>
public sealed record AuthorizationCodeRecord(
    string CodeHash, string GrantId, string ClientId, string RedirectUri, string CodeChallenge,
    string? Nonce, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, DateTimeOffset? RedeemedAt = null);

/// <summary>A refresh token; <paramref name="ConsumedAt"/> is set when it is rotated.</summary>
public sealed record RefreshTokenRecord(
    string TokenHash, string GrantId, string ClientId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt,
    DateTimeOffset? ConsumedAt = null);

/// <summary>An issued access token (JWT) by its <c>jti</c>; <paramref name="GrantId"/> is null for client credentials.</summary>
public sealed record AccessTokenRecord(
    string Jti, string? GrantId, string ClientId, string? SubjectId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt);
