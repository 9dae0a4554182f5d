namespace IdentityServer.Audit;

/// <summary>
/// The audit log: one durable record per security event and per administrative change, for people to review (admin UI
/// and API) and for alerting. Records never hold a secret: no password, client secret, code, token or TOTP key; snapshots
/// of changed objects leave secrets out.
/// </summary>
public interface IAuditLog
{
    /// <summary>Stores <paramref name="entry"/> with the current time and, when there is a request, the caller's address.</summary>
    Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken = default);
}

/// <summary>One audit record as written.</summary>
/// <param name="Event">What happened, one of <see cref="AuditEvents"/>.</param>
/// <param name="ActorType">Who did it: <c>user</c>, <c>client</c>, <c>cli</c>, <c>anonymous</c> or <c>system</c>.</param>
/// <param name="ActorId">The user's <c>sub</c>, the <c>client_id</c>, or the operating-system account for the CLI; null when unknown.</param>
/// <param name="SubjectType">What it happened to: <c>user</c>, <c>client</c>, <c>grant</c> or <c>key</c>; null when nothing in particular.</param>
/// <param name="SubjectId">Its identifier.</param>
/// <param name="Reason">Why (for a failure) or how (for a sign-in, e.g. <c>pwd+otp</c>); never a secret.</param>
/// <param name="Before">JSON snapshot before a change, secrets left out.</param>
/// <param name="After">JSON snapshot after a change, secrets left out.</param>
public sealed record AuditEntry(
    string Event, string ActorType, string? ActorId, string? SubjectType = null, string? SubjectId = null,
    string? Reason = null, string? Before = null, string? After = null)
{
    /// <summary>Something a person did to or with their own account (<c>user</c> acting on <c>user</c>).</summary>
    public static AuditEntry Self(string @event, string userId, string? reason = null) => new(@event, "user", userId, "user", userId, reason);

    /// <summary>A failed sign-in for a name that matches no account (no subject to name).</summary>
    public static AuditEntry Anonymous(string @event, string reason) => new(@event, "anonymous", null, null, null, reason);
}

/// <summary>The audit event names.</summary>
public static class AuditEvents
{
    public const string SignInSucceeded = "signin.succeeded";
    public const string SignInFailed = "signin.failed";
    public const string UserLockedOut = "user.locked_out";
    public const string PasswordChanged = "user.password_changed";
    public const string TotpEnabled = "mfa.totp_enabled";
    public const string TotpDisabled = "mfa.totp_disabled";
    public const string RecoveryCodesRegenerated = "mfa.recovery_codes_regenerated";
    public const string PasskeyAdded = "mfa.passkey_added";
    public const string PasskeyRemoved = "mfa.passkey_removed";
    public const string TokenReuseDetected = "token.reuse_detected";
    public const string ClientAuthenticationThrottled = "client.authentication_throttled";
    public const string ClientCreated = "client.created";
    public const string ClientUpdated = "client.updated";
    public const string ClientDeleted = "client.deleted";
    public const string ClientSecretRotated = "client.secret_rotated";
    public const string UserCreated = "user.created";
    public const string UserLocked = "user.locked";
    public const string UserUnlocked = "user.unlocked";
    public const string UserPasswordReset = "user.password_reset";
    public const string UserDeleted = "user.deleted";
    public const string UserTwoFactorReset = "user.two_factor_reset";
    public const string UserPasskeysRemoved = "user.passkeys_removed";
    public const string UserRolesChanged = "user.roles_changed";
    public const string KeysRotated = "key.rotated";
}
