using System.Diagnostics.Metrics;

namespace IdentityServer.Hosting;

/// <summary>
/// The server's own instruments, on the meter <see cref="MeterName"/> (exported with ASP.NET Core's and the runtime's by
/// <see cref="Telemetry"/>). Names follow OpenTelemetry's conventions; Prometheus shows them with dots as underscores and counters
/// ending in <c>_total</c> (<c>idsrv_tokens_issued_total</c>). Tag values come from fixed sets or from registered clients, never from
/// what a caller typed, so the number of series stays bounded.
/// <list type="table">
/// <item><term><c>idsrv.tokens.issued</c></term><description>token responses with an access token, by <c>grant_type</c> and <c>client_id</c>.</description></item>
/// <item><term><c>idsrv.token.errors</c></term><description>token endpoint error responses, by OAuth <c>error</c> code (RFC 6749 §5.2, RFC 8628 §3.5).</description></item>
/// <item><term><c>idsrv.signins</c></term><description>sign-in steps, by <c>method</c> (<c>pwd</c>, <c>otp</c>, <c>recovery_code</c>, <c>hwk</c>, <c>swk</c>, <c>passkey</c> when it failed before the kind was known) and <c>outcome</c> (<c>success</c>, <c>failure</c>, <c>locked_out</c>).</description></item>
/// <item><term><c>idsrv.device.outcomes</c></term><description>device-flow decisions on the verification page, by <c>outcome</c> (<c>approved</c>, <c>denied</c>, <c>invalid_code</c>, <c>throttled</c>).</description></item>
/// <item><term><c>idsrv.signing_keys.rotations</c></term><description>signing keys made, by <c>reason</c> (<c>initial</c>, <c>scheduled</c>, <c>requested</c>, <c>immediate</c>).</description></item>
/// <item><term><c>idsrv.request.duration</c></term><description>request duration in seconds, by <c>endpoint</c> (<c>token</c>, <c>authorize</c>, …, <c>other</c>).</description></item>
/// </list>
/// </summary>
public sealed class ServerMetrics
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "IdentityServer";

    private readonly Counter<long> _tokensIssued;
    private readonly Counter<long> _tokenErrors;
    private readonly Counter<long> _signIns;
    private readonly Counter<long> _deviceOutcomes;
    private readonly Counter<long> _keyRotations;
    private readonly Histogram<double> _requestDuration;

    /// <summary>Creates the instruments on a meter from <paramref name="meters"/>.</summary>
    public ServerMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _tokensIssued = meter.CreateCounter<long>("idsrv.tokens.issued", "{token}", "Token responses that carried an access token.");
        _tokenErrors = meter.CreateCounter<long>("idsrv.token.errors", "{response}", "Token endpoint error responses.");
        _signIns = meter.CreateCounter<long>("idsrv.signins", "{attempt}", "Sign-in steps by method and outcome.");
        _deviceOutcomes = meter.CreateCounter<long>("idsrv.device.outcomes", "{decision}", "Device-flow decisions on the verification page.");
        _keyRotations = meter.CreateCounter<long>("idsrv.signing_keys.rotations", "{key}", "Signing keys made.");
        _requestDuration = meter.CreateHistogram<double>("idsrv.request.duration", "s", "Request duration by endpoint.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
    }

    /// <summary>One token response with an access token.</summary>
    public void TokenIssued(string? grantType, string? clientId) =>
        _tokensIssued.Add(1, new("grant_type", grantType ?? "unknown"), new("client_id", clientId ?? "unknown"));

    /// <summary>One token endpoint error response with OAuth error <paramref name="error"/>.</summary>
    public void TokenError(string error) => _tokenErrors.Add(1, new KeyValuePair<string, object?>("error", error));

    /// <summary>One sign-in step by <paramref name="method"/> with <paramref name="outcome"/> (see the class summary for the values).</summary>
    public void SignIn(string method, string outcome) => _signIns.Add(1, new("method", method), new("outcome", outcome));

    /// <summary>One device-flow decision.</summary>
    public void DeviceOutcome(string outcome) => _deviceOutcomes.Add(1, new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary><paramref name="count"/> signing keys made for <paramref name="reason"/>.</summary>
    public void KeysRotated(string reason, int count = 1) => _keyRotations.Add(count, new KeyValuePair<string, object?>("reason", reason));

    /// <summary>One request to <paramref name="endpoint"/> that took <paramref name="seconds"/>.</summary>
    public void RequestDone(string endpoint, double seconds) => _requestDuration.Record(seconds, new KeyValuePair<string, object?>("endpoint", endpoint));
}
