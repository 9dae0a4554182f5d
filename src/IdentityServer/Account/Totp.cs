using OtpNet;

namespace IdentityServer.Account;

/// <summary>
/// Time-based one-time passwords as authenticator apps compute them (RFC 6238: HMAC-SHA1, 30-second steps from the Unix epoch,
/// 6 digits), on Otp.NET. The shared key is base32 (RFC 4648 §6), as in the <c>otpauth://</c> URI. This adds the verification window
/// and what the replay protection needs: the step a code matched (<see cref="TotpTokenProvider"/> accepts each step once).
/// </summary>
public static class Totp
{
    /// <summary>Length of a time step, seconds (RFC 6238 §4.1 default X = 30).</summary>
    public const int StepSeconds = 30;

    /// <summary>Digits in a code.</summary>
    public const int Digits = 6;

    /// <summary>Steps accepted either side of the current one: one (RFC 6238 §5.2 recommends at most one step of network delay).</summary>
    public const int Window = 1;

    /// <summary>
    /// The time step (RFC 6238 §4.2, <c>floor(unix seconds / 30)</c>) within ±<see cref="Window"/> of <paramref name="now"/> whose code equals
    /// <paramref name="code"/>, compared in constant time by Otp.NET; null when none does or <paramref name="code"/> is not 6 digits.
    /// </summary>
    public static long? MatchStep(byte[] key, string code, DateTimeOffset now)
    {
        if (code.Length != Digits || !code.All(char.IsAsciiDigit)) return null;
        var totp = new OtpNet.Totp(key, StepSeconds, OtpHashMode.Sha1, Digits);
        return totp.VerifyTotp(now.UtcDateTime, code, out var step, new VerificationWindow(previous: Window, future: Window)) ? step : null;
    }

    /// <summary>Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored); null when malformed.</summary>
    public static byte[]? FromBase32(string value)
    {
        var cleaned = value.Replace(" ", "", StringComparison.Ordinal).TrimEnd('=').ToUpperInvariant();
        if (cleaned.Length == 0 || cleaned.Any(c => !(c is >= 'A' and <= 'Z' or >= '2' and <= '7'))) return null;
        try { return Base32Encoding.ToBytes(cleaned); }
        catch (ArgumentException) { return null; }
    }
}
