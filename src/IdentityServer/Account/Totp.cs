using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace IdentityServer.Account;

/// <summary>
/// Time-based one-time passwords as authenticator apps compute them: RFC 6238 with HMAC-SHA1, a 30-second step counted
/// from the Unix epoch, and RFC 4226 §5.3 dynamic truncation to 6 digits. The shared key is base32 (RFC 4648 §6), as in
/// the <c>otpauth://</c> URI.
/// </summary>
public static class Totp
{
    /// <summary>Length of a time step, seconds (RFC 6238 §4.1 default X = 30).</summary>
    public const int StepSeconds = 30;

    /// <summary>Digits in a code.</summary>
    public const int Digits = 6;

    /// <summary>The time step containing <paramref name="time"/> (RFC 6238 §4.2: T = floor(unix seconds / X)).</summary>
    public static long StepAt(DateTimeOffset time) => time.ToUnixTimeSeconds() / StepSeconds;

    /// <summary>The 6-digit code for <paramref name="step"/> under the raw <paramref name="key"/> bytes (RFC 4226 §5.3).</summary>
    public static string Compute(byte[] key, long step)
    {
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, step);
        Span<byte> mac = stackalloc byte[20];
        HMACSHA1.HashData(key, counter, mac);
        var offset = mac[19] & 0x0F;
        var binary = (BinaryPrimitives.ReadInt32BigEndian(mac[offset..]) & 0x7FFFFFFF) % 1_000_000;
        return binary.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The step within ±<paramref name="window"/> of <paramref name="now"/> whose code equals <paramref name="code"/> (compared in
    /// constant time), or null. <paramref name="code"/> must be exactly 6 digits; spaces are the caller's to remove.
    /// </summary>
    public static long? MatchStep(byte[] key, string code, DateTimeOffset now, int window = 1)
    {
        if (code.Length != Digits || !code.All(char.IsAsciiDigit)) return null;
        var current = StepAt(now);
        long? matched = null;
        for (var step = current - window; step <= current + window; step++)
        {
            // Check every step in the window, so the time taken does not depend on which one matched.
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Compute(key, step)), Encoding.ASCII.GetBytes(code)))
                matched ??= step;
        }
        return matched;
    }

    /// <summary>Decodes RFC 4648 base32 (case-insensitive, padding and spaces ignored); null when malformed.</summary>
    public static byte[]? FromBase32(string value)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var output = new List<byte>(value.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var raw in value)
        {
            if (raw is '=' or ' ') continue;
            var index = alphabet.IndexOf(char.ToUpperInvariant(raw));
            if (index < 0) return null;
            buffer = (buffer << 5) | index;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                output.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }
        return output.ToArray();
    }
}
