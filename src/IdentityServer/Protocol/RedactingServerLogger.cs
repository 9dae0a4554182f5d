using System.Text.Json;
using OpenIddict.Abstractions;
using OpenIddict.Server;

namespace IdentityServer.Protocol;

/// <summary>
/// The logger OpenIddict's server writes through (category <c>OpenIddict.Server.OpenIddictServerDispatcher</c>), with every request
/// and response it logs rendered without secrets. OpenIddict masks tokens, codes and client secrets itself but writes
/// <c>device_code</c>, <c>user_code</c> and <c>code_verifier</c> in the clear (at Information, e.g. "The token request was
/// successfully extracted: {...}"); a device code in a log is a usable credential until it expires. Here every parameter named in
/// <see cref="Secret"/> reads <c>[redacted]</c>; messages without a request or response pass through untouched.
/// <para>
/// OpenIddict's own Information events (those with an event id: several per request, "The request URI matched a server endpoint",
/// "…was successfully extracted", …) are written at Debug, so the default Information level keeps only the decisions: our handlers'
/// events (event id 0), which share this category, and OpenIddict's warnings and errors. <c>Logging:LogLevel:OpenIddict=Debug</c>
/// shows OpenIddict's steps again. (Measured here: its per-request Information logging on the console costs the token endpoint
/// about a third of its throughput.)
/// </para>
/// </summary>
public sealed class RedactingServerLogger(ILoggerFactory factory) : ILogger<OpenIddictServerDispatcher>
{
    private readonly ILogger _inner = factory.CreateLogger(typeof(OpenIddictServerDispatcher).FullName!);

    /// <summary>
    /// Whether the parameter <paramref name="name"/> carries a secret: OpenIddict's own list (client secrets, codes, every
    /// <c>*_token</c>, passwords, assertions), plus the device flow's codes (and the verification URI that carries the user code), the
    /// PKCE verifier, the confirmation pages' sealed ticket and any other field whose name ends in <c>token</c> (the antiforgery token).
    /// </summary>
    public static bool Secret(string name) =>
        name.Equals("ticket", StringComparison.OrdinalIgnoreCase) || name is OpenIddictConstants.Parameters.DeviceCode or OpenIddictConstants.Parameters.UserCode or OpenIddictConstants.Parameters.CodeVerifier
            or OpenIddictConstants.Parameters.ClientSecret or OpenIddictConstants.Parameters.Code or OpenIddictConstants.Parameters.Password
            or OpenIddictConstants.Parameters.Assertion or OpenIddictConstants.Parameters.ClientAssertion or OpenIddictConstants.Parameters.Token
            or OpenIddictConstants.Parameters.VerificationUriComplete
            or OpenIddictConstants.Parameters.IdTokenHint
        || (name.Length > 5 && name.EndsWith("token", StringComparison.OrdinalIgnoreCase));

    /// <summary>The parameters of <paramref name="message"/> as one line of JSON, with each secret's value replaced by <c>[redacted]</c>.</summary>
    public static string Render(OpenIddictMessage message)
    {
        var parameters = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in message.GetParameters())
            parameters[name] = Secret(name) ? "[redacted]" : value.GetRawValue();
        return JsonSerializer.Serialize(parameters);
    }

    /// <inheritdoc />
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => _inner.BeginScope(state);

    /// <summary>Whether OpenIddict should build a message of <paramref name="logLevel"/>.</summary>
    /// <remarks>
    /// Information answers as Debug: OpenIddict asks before building its costly Information messages, which are demoted to Debug below.
    /// Our handlers' Information events do not ask (they call <see cref="Log{TState}"/> directly) and are written at Information.
    /// </remarks>
    public bool IsEnabled(LogLevel logLevel) => _inner.IsEnabled(logLevel == LogLevel.Information ? LogLevel.Debug : logLevel);

    /// <inheritdoc />
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (logLevel == LogLevel.Information && eventId.Id != 0) logLevel = LogLevel.Debug;
        if (!_inner.IsEnabled(logLevel)) return;
        if (state is IReadOnlyList<KeyValuePair<string, object?>> values && values.Any(v => v.Value is OpenIddictMessage))
        {
            var template = values.FirstOrDefault(v => v.Key == "{OriginalFormat}").Value as string ?? "";
            var arguments = values.Where(v => v.Key != "{OriginalFormat}").Select(v => v.Value is OpenIddictMessage m ? Render(m) : v.Value).ToArray();
#pragma warning disable CA2254 // the template is OpenIddict's own, passed on unchanged
            _inner.Log(logLevel, eventId, exception, template, arguments);
#pragma warning restore CA2254
            return;
        }
        _inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
