using System.Security.Cryptography;
using IdentityServer.Protocol.Tokens;

namespace IdentityServer.Protocol.Grants;

/// <summary>
/// The device flow's <c>user_code</c> (RFC 8628 §6.1): 8 characters from a 20-letter alphabet without vowels (so no words
/// form) and without look-alikes, about 34.5 bits, shown as <c>XXXX-XXXX</c>. People may type it in any case, with or
/// without the dash or spaces. Stored only as the SHA-256 of its normalized form; guessing is held off by the code's short
/// life and by rate-limited entry (RFC 8628 §5.1).
/// <para>
/// The hash is unkeyed, so someone who can read the database can recover a live code by trying all 20^8 in seconds. That is
/// accepted: such a reader also sees every grant and the Data Protection key ring, while a recovered code only lets them
/// approve or deny a device request for its remaining minutes. The device code, 256 random bits, has no such weakness.
/// </para>
/// </summary>
public static class UserCode
{
    /// <summary>The characters a user code is made of (RFC 8628 §6.1 example alphabet).</summary>
    public const string Alphabet = "BCDFGHJKLMNPQRSTVWXZ";

    /// <summary>Number of characters, without the separator.</summary>
    public const int Length = 8;

    /// <summary>Longest input <see cref="Normalize"/> looks at, in characters; longer input is not a code.</summary>
    public const int MaxInputLength = 32;

    /// <summary>A new random code in normalized form (8 upper-case letters, no dash).</summary>
    public static string Create() => string.Create(Length, 0, static (span, _) =>
    {
        for (var i = 0; i < span.Length; i++) span[i] = Alphabet[RandomNumberGenerator.GetInt32(Alphabet.Length)];
    });

    /// <summary>The display form <c>XXXX-XXXX</c> of a normalized code.</summary>
    public static string Format(string normalized) => normalized.Length == Length ? $"{normalized[..4]}-{normalized[4..]}" : normalized;

    /// <summary>
    /// The normalized code for what a person typed: upper-cased, dashes and white space removed. Null when the result is
    /// not <see cref="Length"/> characters of <see cref="Alphabet"/> (such input cannot be a code).
    /// </summary>
    public static string? Normalize(string? input)
    {
        if (string.IsNullOrEmpty(input) || input.Length > MaxInputLength) return null;
        Span<char> buffer = stackalloc char[MaxInputLength];
        var n = 0;
        foreach (var c in input)
        {
            if (c == '-' || char.IsWhiteSpace(c)) continue;
            var upper = char.ToUpperInvariant(c);
            if (n == Length || !Alphabet.Contains(upper)) return null;
            buffer[n++] = upper;
        }
        return n == Length ? new string(buffer[..n]) : null;
    }

    /// <summary>The storage key of a normalized code: base64url SHA-256 (43 characters).</summary>
    public static string Hash(string normalized) => OpaqueToken.Hash(normalized);
}
