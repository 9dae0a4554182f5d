namespace IdentityServer.Protocol;

/// <summary>
/// The device flow's <c>user_code</c> (RFC 8628 §6.1): 8 characters from a 20-letter alphabet without vowels (so no words
/// form) and without look-alikes, about 34.5 bits, shown as <c>XXXX-XXXX</c>. OpenIddict generates and stores the codes (as
/// SHA-256 of the code, like every reference token) with this alphabet, length and display format. People may type a code in
/// any case, with or without the dash or spaces: <see cref="Normalize"/> gives the form OpenIddict looks up. Guessing is held off
/// by the code's short life and by rate-limited entry (RFC 8628 §5.1).
/// </summary>
public static class UserCode
{
    /// <summary>The characters a user code is made of (RFC 8628 §6.1 example alphabet).</summary>
    public const string Alphabet = "BCDFGHJKLMNPQRSTVWXZ";

    /// <summary>Number of characters, without the separator.</summary>
    public const int Length = 8;

    /// <summary>How OpenIddict formats a code for display (<c>XXXX-XXXX</c>): <see cref="string.Format(string, object[])"/> with one character per index.</summary>
    public const string DisplayFormat = "{0}{1}{2}{3}-{4}{5}{6}{7}";

    /// <summary>Longest input <see cref="Normalize"/> looks at, in characters; longer input is not a code.</summary>
    public const int MaxInputLength = 32;

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
}
