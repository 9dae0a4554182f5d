namespace IdentityServer.Protocol.Stores;

/// <summary>
/// Persistence for device authorizations (RFC 8628). Device and user codes are handed over only as SHA-256 hashes.
/// Every state change is one conditional update in the database, so concurrent polls and clicks on any number of
/// nodes see at most one winner.
/// </summary>
public interface IDeviceCodeStore
{
    /// <summary>Stores a new pending device authorization. False when another one already has the same user code hash (the caller picks a new code).</summary>
    Task<bool> TryCreateAsync(DeviceCodeRecord record, CancellationToken cancellationToken = default);

    /// <summary>The authorization whose device code has this hash, or null.</summary>
    Task<DeviceCodeRecord?> FindByDeviceCodeHashAsync(string deviceCodeHash, CancellationToken cancellationToken = default);

    /// <summary>The authorization whose user code has this hash, or null.</summary>
    Task<DeviceCodeRecord?> FindByUserCodeHashAsync(string userCodeHash, CancellationToken cancellationToken = default);

    /// <summary>The authorization with this id, or null.</summary>
    Task<DeviceCodeRecord?> FindByIdAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Records a poll at <paramref name="now"/> if the last recorded poll is still <paramref name="previousPoll"/>;
    /// false when another poll got in between (the caller treats this one as too fast).
    /// </summary>
    Task<bool> TryRecordPollAsync(string id, DateTimeOffset? previousPoll, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>A too-fast poll: records it and raises the interval from <paramref name="previousIntervalSeconds"/> to <paramref name="newIntervalSeconds"/> unless another poll already raised it.</summary>
    Task SlowDownAsync(string id, int previousIntervalSeconds, int newIntervalSeconds, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Pending and unexpired → approved by <paramref name="approval"/>; true for the one caller that did so.</summary>
    Task<bool> TryApproveAsync(string id, DeviceApproval approval, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Pending → denied (final); true for the one caller that did so.</summary>
    Task<bool> TryDenyAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>Approved → redeemed (tokens issued); true for the one caller that did so.</summary>
    Task<bool> TryRedeemAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default);
}

/// <summary>Where a device authorization stands (RFC 8628 §3.3–§3.5).</summary>
public enum DeviceCodeStatus
{
    /// <summary>Waiting for the end-user: polls get <c>authorization_pending</c>.</summary>
    Pending,
    /// <summary>The end-user approved; the next poll gets tokens.</summary>
    Approved,
    /// <summary>The end-user denied: polls get <c>access_denied</c>, for good.</summary>
    Denied,
    /// <summary>Tokens were issued; the device code is spent.</summary>
    Redeemed,
}

/// <summary>Who approved a device authorization, and how they had signed in (copied into the grant at redemption).</summary>
/// <param name="SubjectId">The end-user's <c>sub</c>.</param>
/// <param name="AuthTime">When they authenticated.</param>
/// <param name="Amr">How they authenticated (RFC 8176).</param>
public sealed record DeviceApproval(string SubjectId, DateTimeOffset AuthTime, IReadOnlyList<string> Amr);

/// <summary>One device authorization request and its state (RFC 8628 §3.1–§3.5).</summary>
/// <param name="Id">Random identifier (not secret; used by the verification pages).</param>
/// <param name="DeviceCodeHash">SHA-256 of the <c>device_code</c>.</param>
/// <param name="UserCodeHash">SHA-256 of the normalized <c>user_code</c>.</param>
/// <param name="ClientId">The client that asked; only it may poll.</param>
/// <param name="Scopes">The requested (and, once approved, granted) scopes.</param>
/// <param name="CreatedAt">When it was issued.</param>
/// <param name="ExpiresAt">When both codes stop working.</param>
/// <param name="IntervalSeconds">The current minimum polling interval, seconds (raised by <c>slow_down</c>).</param>
/// <param name="LastPolledAt">The last poll at the token endpoint, if any.</param>
/// <param name="Status">Where it stands.</param>
/// <param name="Approval">Set when approved.</param>
/// <param name="DecidedAt">When it was approved or denied.</param>
/// <param name="RedeemedAt">When tokens were issued.</param>
public sealed record DeviceCodeRecord(
    string Id, string DeviceCodeHash, string UserCodeHash, string ClientId, IReadOnlyList<string> Scopes,
    DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, int IntervalSeconds, DateTimeOffset? LastPolledAt = null,
    DeviceCodeStatus Status = DeviceCodeStatus.Pending, DeviceApproval? Approval = null,
    DateTimeOffset? DecidedAt = null, DateTimeOffset? RedeemedAt = null);
