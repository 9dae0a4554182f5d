using System.Security.Cryptography;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// <c>grant_type=urn:ietf:params:oauth:grant-type:device_code</c>: the device polls (RFC 8628 §3.4–§3.5). Rules, in order:
/// <list type="number">
/// <item><c>device_code</c> present (<c>invalid_request</c>) and known (<c>invalid_grant</c>)</item>
/// <item>issued to this client (<c>invalid_grant</c>)</item>
/// <item>not redeemed before: a device code yields tokens once (<c>invalid_grant</c>)</item>
/// <item>not expired (<c>expired_token</c>)</item>
/// <item>not polled faster than the current interval: otherwise the interval grows by 5 seconds and the answer is <c>slow_down</c> (§3.5)</item>
/// <item>denied → <c>access_denied</c> (final); still pending → <c>authorization_pending</c></item>
/// <item>approved: the end-user still exists and is not locked out (<c>invalid_grant</c>)</item>
/// <item>atomic redemption in the database, then a grant (token family) and tokens as in the code flow: access token, ID token with
/// <c>openid</c>, refresh token with <c>offline_access</c> when the client may refresh. The loser of a race gets <c>invalid_grant</c>.</item>
/// </list>
/// </summary>
public sealed class DeviceCodeGrantHandler(
    IDeviceCodeStore devices, IGrantStore grants, IUserProfileStore users, TokenIssuer issuer, IdentityServerOptions options,
    TimeProvider time, ILogger<DeviceCodeGrantHandler> logger) : ITokenGrantHandler
{
    /// <summary>Seconds added to the interval on each <c>slow_down</c> (RFC 8628 §3.5).</summary>
    public const int SlowDownIncrementSeconds = 5;

    /// <summary>A poll this much earlier than the interval allows still counts as on time, for timer and network jitter.</summary>
    public static readonly TimeSpan PollingTolerance = TimeSpan.FromMilliseconds(500);

    /// <inheritdoc />
    public string GrantType => GrantTypes.DeviceCode;

    /// <inheritdoc />
    public async Task<OAuthResult<TokenResponse>> HandleAsync(Client client, OAuthParameters p, CancellationToken ct)
    {
        var value = p["device_code"];
        if (value is null) return OAuthError.InvalidRequest("The device_code parameter is missing.");

        var record = await devices.FindByDeviceCodeHashAsync(OpaqueToken.Hash(value), ct);
        if (record is null) return OAuthError.InvalidGrant("The device code is invalid.");
        if (record.ClientId != client.ClientId)
        {
            logger.LogWarning("Client {ClientId} polled with a device code issued to {OwnerClientId}", client.ClientId, record.ClientId);
            return OAuthError.InvalidGrant("The device code was issued to another client.");
        }
        if (record.Status == DeviceCodeStatus.Redeemed)
            return OAuthError.InvalidGrant("The device code has already been used.");

        var now = time.GetUtcNow();
        if (record.ExpiresAt <= now) return OAuthError.ExpiredToken("The device code has expired.");

        var onTime = record.LastPolledAt is not { } last || now >= last.AddSeconds(record.IntervalSeconds) - PollingTolerance;
        if (!onTime || !await devices.TryRecordPollAsync(record.Id, record.LastPolledAt, now, ct))
        {
            await devices.SlowDownAsync(record.Id, record.IntervalSeconds, record.IntervalSeconds + SlowDownIncrementSeconds, now, ct);
            return OAuthError.SlowDown($"Poll at most every {record.IntervalSeconds + SlowDownIncrementSeconds} seconds.");
        }

        switch (record.Status)
        {
            case DeviceCodeStatus.Denied:
                return OAuthError.AccessDenied("The end-user denied the request.");
            case DeviceCodeStatus.Pending:
                return OAuthError.AuthorizationPending("The end-user has not yet approved the request.");
        }

        var approval = record.Approval!;
        if (await users.FindActiveAsync(approval.SubjectId, ct) is null)
            return OAuthError.InvalidGrant("The end-user is no longer allowed to sign in.");
        if (!await devices.TryRedeemAsync(record.Id, now, ct))
            return OAuthError.InvalidGrant("The device code has already been used.");

        // The device's tokens form their own family, not part of the browser session that approved them (no sid).
        var grant = new GrantRecord(Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)), approval.SubjectId, client.ClientId,
            record.Scopes, approval.AuthTime, approval.Amr, null, now, now.AddSeconds(options.Lifetimes.RefreshTokenAbsoluteSeconds));
        await grants.CreateGrantAsync(grant, ct);
        logger.LogInformation("Device code redeemed by {ClientId} for {SubjectId}", client.ClientId, approval.SubjectId);
        return await issuer.IssueForUserAsync(client, grant, grant.Scopes, null, now, ct);
    }
}
