using System.Security.Cryptography;
using System.Text.Json.Serialization;
using IdentityServer.Protocol.Endpoints.Discovery;
using IdentityServer.Protocol.Endpoints.Token;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Endpoints.Device;

/// <summary>
/// The device authorization endpoint (RFC 8628 §3.1–§3.2). Rules, in order:
/// <list type="number">
/// <item>client authentication as at the token endpoint; a public client sends <c>client_id</c> (<c>invalid_client</c>, 401)</item>
/// <item>the client is registered for <c>urn:ietf:params:oauth:grant-type:device_code</c> (<c>unauthorized_client</c>)</item>
/// <item><c>scope</c> well formed, known and allowed for the client, identity scopes only with <c>openid</c> (<c>invalid_scope</c>);
/// absent means every scope the client is registered for (RFC 6749 §3.3 default)</item>
/// <item>issue: a <c>device_code</c> of 256 random bits and a fresh <c>user_code</c> (<see cref="UserCode"/>), both stored only as hashes,
/// valid <see cref="DeviceFlowOptions.DeviceCodeLifetimeSeconds"/>, polled no faster than <see cref="DeviceFlowOptions.PollingIntervalSeconds"/></item>
/// </list>
/// </summary>
public sealed class DeviceAuthorizationEndpoint(
    ClientAuthenticator authenticator, ScopeCatalog catalog, IDeviceCodeStore store, IdentityServerOptions options,
    TimeProvider time, ILogger<DeviceAuthorizationEndpoint> logger)
{
    /// <summary>How many fresh user codes are tried when one collides with a stored code before giving up.</summary>
    private const int UserCodeAttempts = 5;

    /// <summary>Runs the rules above on a parsed form body and the Basic credentials, if any.</summary>
    /// <exception cref="InvalidOperationException">No unused user code was found in <see cref="UserCodeAttempts"/> tries (the adapter answers <c>server_error</c>).</exception>
    public async Task<OAuthResult<DeviceAuthorizationResponse>> HandleAsync(OAuthParameters p, BasicCredentials? basic, CancellationToken ct = default)
    {
        var authenticated = await authenticator.AuthenticateAsync(p, basic, ct);
        if (!authenticated.Succeeded) return authenticated.Error;
        var client = authenticated.Value;

        if (!client.AllowsGrantType(GrantTypes.DeviceCode))
            return OAuthError.UnauthorizedClient("The client may not use the device authorization grant.");

        var scopes = p["scope"] is null ? client.Scopes : Scopes.Parse(p["scope"]);
        if (catalog.CheckEndUserScopes(scopes, client) is { } scopeError) return scopeError;

        var flow = options.DeviceFlow;
        var now = time.GetUtcNow();
        var deviceCode = OpaqueToken.Create();
        for (var attempt = 0; attempt < UserCodeAttempts; attempt++)
        {
            var userCode = UserCode.Create();
            var record = new DeviceCodeRecord(
                Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)), OpaqueToken.Hash(deviceCode), UserCode.Hash(userCode),
                client.ClientId, scopes, now, now.AddSeconds(flow.DeviceCodeLifetimeSeconds), flow.PollingIntervalSeconds);
            if (!await store.TryCreateAsync(record, ct)) continue;

            logger.LogInformation("Device authorization {DeviceAuthorizationId} issued to {ClientId}", record.Id, client.ClientId);
            var verificationUri = options.IssuerBase + EndpointPaths.DeviceVerification;
            var display = UserCode.Format(userCode);
            return new DeviceAuthorizationResponse
            {
                DeviceCode = deviceCode,
                UserCode = display,
                VerificationUri = verificationUri,
                VerificationUriComplete = verificationUri + "?user_code=" + display,
                ExpiresIn = flow.DeviceCodeLifetimeSeconds,
                Interval = flow.PollingIntervalSeconds,
            };
        }
        throw new InvalidOperationException("No unused user code could be generated; the device code table may be full of unexpired codes.");
    }
}

/// <summary>The device authorization response (RFC 8628 §3.2), serialized with these exact names.</summary>
public sealed record DeviceAuthorizationResponse
{
    /// <summary>The secret the device polls with (43 base64url characters).</summary>
    [JsonPropertyName("device_code")] public required string DeviceCode { get; init; }

    /// <summary>The code the person types, as <c>XXXX-XXXX</c>.</summary>
    [JsonPropertyName("user_code")] public required string UserCode { get; init; }

    /// <summary>The verification page, absolute.</summary>
    [JsonPropertyName("verification_uri")] public required string VerificationUri { get; init; }

    /// <summary>The verification page with the user code filled in (RFC 8628 §3.3.1); the person still confirms.</summary>
    [JsonPropertyName("verification_uri_complete")] public required string VerificationUriComplete { get; init; }

    /// <summary>Lifetime of both codes, seconds.</summary>
    [JsonPropertyName("expires_in")] public required int ExpiresIn { get; init; }

    /// <summary>Minimum seconds between polls.</summary>
    [JsonPropertyName("interval")] public required int Interval { get; init; }
}
