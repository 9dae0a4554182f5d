using System.Globalization;
using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;

namespace IdentityServer.Interaction;

/// <summary>
/// Sealed, short-lived values carried in URLs (the interaction service's, as IdentityServer4 keeps its own). Mainly proof, carried in
/// the authorization request's return URL, that the
/// login or consent step the endpoint demanded has happened. The original <c>prompt</c> and <c>max_age</c> stay in the URL, so nobody can skip re-authentication
/// by opening a trimmed URL (OpenID Connect Core §3.1.2.1); the ticket says when the demand was made and is sealed
/// with Data Protection, bound to the request's <c>code_challenge</c> (and, for consent, the subject), and expires
/// after <see cref="Lifetime"/>. The device verification page uses <see cref="Seal"/>/<see cref="Open"/> to carry the code a
/// person entered across sign-in without putting it in the URL in clear.
/// </summary>
public sealed class InteractionTickets(IDataProtectionProvider dataProtection, TimeProvider time)
{
    /// <summary>Query parameter of the login ticket.</summary>
    public const string LoginParameter = "login_ticket";

    /// <summary>Query parameter of the consent ticket.</summary>
    public const string ConsentParameter = "consent_ticket";

    /// <summary>Kind of a login ticket; its value is bound to the request's <c>code_challenge</c>.</summary>
    public const string LoginKind = "login";

    /// <summary>Kind of a consent ticket; its value is bound to the request's <c>code_challenge</c> and the subject.</summary>
    public const string ConsentKind = "consent";

    /// <summary>Kind of the ticket that carries a device flow's user code to the confirmation page; its value is the normalized code.</summary>
    public const string DeviceKind = "device";

    /// <summary>Kind of the ticket that carries a validated end-session request to its confirmation.</summary>
    public const string EndSessionKind = "endsession";

    /// <summary>How long a ticket is honoured (15 minutes).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(15);

    private readonly IDataProtector _protector = dataProtection.CreateProtector("IdentityServer.InteractionTicket.v1");

    /// <summary>A sealed ticket of <paramref name="kind"/> (<c>login</c> or <c>consent</c>) for the request with <paramref name="binding"/>, issued now.</summary>
    public string Issue(string kind, string binding) => Seal(kind, Bind(binding));

    /// <summary>When a valid, unexpired ticket of <paramref name="kind"/> for <paramref name="binding"/> was issued; null otherwise (absent, forged, expired, other request).</summary>
    public DateTimeOffset? IssuedAt(string? ticket, string kind, string binding) =>
        Open(ticket, kind) is { } t && t.Value == Bind(binding) ? t.IssuedAt : null;

    /// <summary>A sealed ticket of <paramref name="kind"/> carrying <paramref name="value"/> (readable only by this server), issued now.</summary>
    public string Seal(string kind, string value) =>
        _protector.Protect($"{kind}|{time.GetUtcNow().UtcTicks.ToString(CultureInfo.InvariantCulture)}|{value}");

    /// <summary>The value and issue time of a valid, unexpired ticket of <paramref name="kind"/>; null when absent, forged, of another kind or expired.</summary>
    public (string Value, DateTimeOffset IssuedAt)? Open(string? ticket, string kind)
    {
        if (string.IsNullOrEmpty(ticket)) return null;
        string payload;
        try { payload = _protector.Unprotect(ticket); }
        catch (CryptographicException) { return null; }
        var parts = payload.Split('|', 3);
        if (parts.Length != 3 || parts[0] != kind
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks > DateTimeOffset.MaxValue.UtcTicks)
            return null;
        var issued = new DateTimeOffset(ticks, TimeSpan.Zero);
        return time.GetUtcNow() - issued <= Lifetime ? (parts[2], issued) : null;
    }

    private static string Bind(string binding) => Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(binding)));
}
