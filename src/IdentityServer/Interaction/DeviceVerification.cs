using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Interaction;

/// <summary>What the verification pages can do with a user code.</summary>
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

/// <summary>A user code as the verification pages see it; <see cref="Client"/> and <see cref="Scopes"/> are set when <see cref="State"/> is <see cref="DeviceVerificationState.Pending"/>.</summary>
public sealed record DeviceVerificationLookup(DeviceVerificationState State, ClientProfile? Client = null, IReadOnlyList<string>? Scopes = null);

/// <summary>
/// The end-user side of the device flow (RFC 8628 §3.3) at the verification endpoint, through the interaction layer: what the code
/// of this request stands for, and the person's approval or denial. OpenIddict has validated the code (from the form, or from the
/// confirmation page's sealed ticket) before the page runs; a code it did not accept is classified from its token entry (unknown,
/// expired, already used, denied). Approval signs the person in at the verification endpoint (OpenIddict redeems the user code and
/// authorizes the device code); denial rejects the user code and then its device code, as OpenIddict's own challenge would, while
/// the page answers the person. Each is decided once, by the concurrency check on the user code's entry, however many tabs or clicks
/// race.
/// </summary>
public sealed class DeviceVerification(IOpenIddictTokenManager tokens, ClientApplicationManager clients, TimeProvider time, IdentityServer.Hosting.ServerMetrics metrics,
    ILogger<DeviceVerification> logger)
{
    /// <summary>What the code of the current verification request stands for; <paramref name="userCode"/> is its normalized form.</summary>
    public async Task<DeviceVerificationLookup> FindAsync(HttpContext http, string? userCode) => (await LookupAsync(http, userCode)).Lookup;

    /// <summary>The lookup, and for a pending code the identifier of the device code's token entry (OpenIddict's <c>oi_dvc_id</c> claim).</summary>
    private async Task<(DeviceVerificationLookup Lookup, string? DeviceCodeId)> LookupAsync(HttpContext http, string? userCode)
    {
        if (userCode is null) return (new(DeviceVerificationState.Unknown), null);
        var ct = http.RequestAborted;
        var principal = (await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        if (principal is not null && principal.HasTokenType(TokenTypeIdentifiers.Private.UserCode))
        {
            var clientId = principal.GetPresenters().FirstOrDefault();
            if (clientId is null || await clients.FindByClientIdAsync(clientId, ct) is not { } application) return (new(DeviceVerificationState.ClientUnavailable), null);
            return (new(DeviceVerificationState.Pending, await clients.GetProfileAsync(application, ct), principal.GetScopes()), principal.GetClaim(DeviceCodeIdClaim));
        }

        if (await tokens.FindByReferenceIdAsync(userCode, ct) is not { } token || !await tokens.HasTypeAsync(token, TokenTypeIdentifiers.Private.UserCode, ct))
            return (new(DeviceVerificationState.Unknown), null);
        if (await tokens.GetExpirationDateAsync(token, ct) is { } expires && expires <= time.GetUtcNow()) return (new(DeviceVerificationState.Expired), null);
        if (await tokens.HasStatusAsync(token, Statuses.Rejected, ct)) return (new(DeviceVerificationState.Denied), null);
        if (await tokens.HasStatusAsync(token, Statuses.Redeemed, ct)) return (new(DeviceVerificationState.AlreadyUsed), null);
        return (new(DeviceVerificationState.Unknown), null);
    }

    /// <summary>The claim of a user code's principal that names its device code's token entry (set by OpenIddict).</summary>
    private const string DeviceCodeIdClaim = "oi_dvc_id";

    /// <summary>
    /// Approves for <paramref name="session"/>'s end-user; <see cref="DeviceVerificationState.MfaRequired"/> when the client demands a
    /// second factor the session lacks (the same rule as at the authorization endpoint, <see cref="InteractionRules"/>); on a lost race
    /// or a change since the page was shown, the current state.
    /// </summary>
    public async Task<DeviceVerificationLookup> ApproveAsync(HttpContext http, string? userCode, EndUserSession session)
    {
        var current = await FindAsync(http, userCode);
        if (current.State != DeviceVerificationState.Pending) return current;
        if (current.Client!.RequireMfa && !session.HasMfa) return current with { State = DeviceVerificationState.MfaRequired };
        try
        {
            await http.SignInAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, EndUserPrincipal.Create(session, current.Scopes!, withSessionId: false));
        }
        catch (InvalidOperationException) when (http.GetOpenIddictServerResponse() is { Error: not null } error)
        {
            // OpenIddict could not redeem the user code: another tab approved or denied it first. (With error pass-through it leaves
            // the page to say so, and signals it by throwing.)
            logger.LogInformation("Device approval lost a race: {Error}", error.Error);
            // OpenIddict set its error's status code; the page that says what happened replaces that response.
            if (!http.Response.HasStarted) http.Response.StatusCode = StatusCodes.Status200OK;
            return await FindAsync(http, userCode) is { State: not DeviceVerificationState.Pending } now ? now : new(DeviceVerificationState.AlreadyUsed);
        }
        logger.LogInformation("Device authorization for {ClientId} approved by {SubjectId}", current.Client.ClientId, session.SubjectId);
        metrics.DeviceOutcome("approved");
        return current with { State = DeviceVerificationState.Approved };
    }

    /// <summary>
    /// Denies (final): the user code and its device code are rejected, and the device gets <c>access_denied</c> at its next poll (RFC 8628
    /// §3.5); on a lost race or a change since, the current state.
    /// </summary>
    public async Task<DeviceVerificationLookup> DenyAsync(HttpContext http, string? userCode, string subjectId)
    {
        var (current, deviceCodeId) = await LookupAsync(http, userCode);
        if (current.State != DeviceVerificationState.Pending) return current;
        // Claim the decision on the user code first: only a code nobody approved in the meantime may reject its device code.
        if (await tokens.FindByReferenceIdAsync(userCode!, http.RequestAborted) is not { } token || !await tokens.TryRejectAsync(token, http.RequestAborted))
            return await FindAsync(http, userCode) is { State: not DeviceVerificationState.Pending } now ? now : new(DeviceVerificationState.AlreadyUsed);
        if (deviceCodeId is not null && await tokens.FindByIdAsync(deviceCodeId, http.RequestAborted) is { } deviceCode)
            await tokens.TryRejectAsync(deviceCode, http.RequestAborted);
        logger.LogInformation("Device authorization for {ClientId} denied by {SubjectId}", current.Client!.ClientId, subjectId);
        metrics.DeviceOutcome("denied");
        return current with { State = DeviceVerificationState.Denied };
    }
}
