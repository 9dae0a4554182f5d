using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Endpoints.Authorize;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Stores;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Protocol.Endpoints.Device;

/// <summary>What the verification page can do with a device authorization.</summary>
public enum DeviceVerificationState
{
    /// <summary>No such code (or input that cannot be a code). Counts as a failed attempt.</summary>
    Unknown,
    /// <summary>Waiting for the person: show the confirmation screen.</summary>
    Pending,
    /// <summary>The code's lifetime is over.</summary>
    Expired,
    /// <summary>Approved by the call that returned this state.</summary>
    Approved,
    /// <summary>Already approved before (and maybe redeemed).</summary>
    AlreadyUsed,
    /// <summary>Denied (earlier, or by the call that returned this state); final.</summary>
    Denied,
    /// <summary>The client that asked is gone or disabled.</summary>
    ClientUnavailable,
    /// <summary>The client requires multi-factor authentication and the approving session has none (<c>amr</c> without <c>mfa</c>); nothing was decided.</summary>
    MfaRequired,
}

/// <summary>A device authorization as the verification page sees it; <see cref="Record"/> and <see cref="Client"/> are set unless <see cref="State"/> is <see cref="DeviceVerificationState.Unknown"/>.</summary>
public sealed record DeviceVerificationLookup(DeviceVerificationState State, DeviceCodeRecord? Record = null, Client? Client = null);

/// <summary>
/// The end-user side of the device flow (RFC 8628 §3.3): look up the code the person typed, then approve or deny it
/// for the signed-in person. Approval and denial are single conditional updates, so a double click or two tabs
/// decide once. The verification page adds rate limiting and the screens; this class has no HTTP.
/// </summary>
public sealed class DeviceVerification(IDeviceCodeStore store, IClientStore clients, TimeProvider time, ILogger<DeviceVerification> logger)
{
    /// <summary>Looks up what a person typed (any case, dashes and spaces ignored; see <see cref="UserCode.Normalize"/>).</summary>
    public async Task<DeviceVerificationLookup> FindByUserCodeAsync(string? input, CancellationToken ct = default)
    {
        var normalized = UserCode.Normalize(input);
        if (normalized is null) return new(DeviceVerificationState.Unknown);
        return await ClassifyAsync(await store.FindByUserCodeHashAsync(UserCode.Hash(normalized), ct), ct);
    }

    /// <summary>Looks up a device authorization by its id (the confirmation screen, after the code was entered).</summary>
    public async Task<DeviceVerificationLookup> FindByIdAsync(string id, CancellationToken ct = default) =>
        await ClassifyAsync(await store.FindByIdAsync(id, ct), ct);

    /// <summary>
    /// Approves for <paramref name="session"/>'s end-user; <see cref="DeviceVerificationState.MfaRequired"/> when the client demands a
    /// second factor the session lacks; on a lost race or a change since the lookup, the current state.
    /// </summary>
    public async Task<DeviceVerificationLookup> ApproveAsync(string id, EndUserSession session, CancellationToken ct = default)
    {
        var current = await FindByIdAsync(id, ct);
        if (current.State != DeviceVerificationState.Pending) return current;
        // The same rule as at the authorization endpoint (AuthorizeInteraction): such a client gets tokens only after a second factor.
        if (current.Client!.RequireMfa && !session.Amr.Contains(AuthorizeInteraction.Mfa)) return current with { State = DeviceVerificationState.MfaRequired };
        var approval = new DeviceApproval(session.SubjectId, session.AuthTime, session.Amr);
        if (!await store.TryApproveAsync(id, approval, time.GetUtcNow(), ct)) return await FindByIdAsync(id, ct);
        logger.LogInformation("Device authorization {DeviceAuthorizationId} for {ClientId} approved by {SubjectId}", id, current.Record!.ClientId, session.SubjectId);
        return current with { State = DeviceVerificationState.Approved, Record = current.Record with { Status = DeviceCodeStatus.Approved, Approval = approval } };
    }

    /// <summary>Denies (final); on a lost race or a change since the lookup, the current state.</summary>
    public async Task<DeviceVerificationLookup> DenyAsync(string id, string subjectId, CancellationToken ct = default)
    {
        var current = await FindByIdAsync(id, ct);
        if (current.State != DeviceVerificationState.Pending) return current;
        if (!await store.TryDenyAsync(id, time.GetUtcNow(), ct)) return await FindByIdAsync(id, ct);
        logger.LogInformation("Device authorization {DeviceAuthorizationId} for {ClientId} denied by {SubjectId}", id, current.Record!.ClientId, subjectId);
        return current with { State = DeviceVerificationState.Denied, Record = current.Record with { Status = DeviceCodeStatus.Denied } };
    }

    private async Task<DeviceVerificationLookup> ClassifyAsync(DeviceCodeRecord? record, CancellationToken ct)
    {
        if (record is null) return new(DeviceVerificationState.Unknown);
        var client = await clients.FindByClientIdAsync(record.ClientId, ct);
        var state = record.Status switch
        {
            DeviceCodeStatus.Approved or DeviceCodeStatus.Redeemed => DeviceVerificationState.AlreadyUsed,
            DeviceCodeStatus.Denied => DeviceVerificationState.Denied,
            _ when record.ExpiresAt <= time.GetUtcNow() => DeviceVerificationState.Expired,
            _ when client is null || !client.Enabled => DeviceVerificationState.ClientUnavailable,
            _ => DeviceVerificationState.Pending,
        };
        return new(state, record, client);
    }
}
