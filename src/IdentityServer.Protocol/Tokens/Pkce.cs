using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Tokens;

/// <summary>Proof Key for Code Exchange with the <c>S256</c> method only (RFC 7636; <c>plain</c> is refused per RFC 9700 §2.1.1).</summary>
public static class Pkce
{
    /// <summary>The only supported <c>code_challenge_method</c>.</summary>
    public const string S256 = "S256";

    /// <summary>
    /// True for a 43–128 character string of unreserved characters (<c>[A-Z] [a-z] [0-9] - . _ ~</c>):
    /// the syntax of both <c>code_verifier</c> (RFC 7636 §4.1) and an S256 <c>code_challenge</c> (§4.2).
    /// </summary>
    public static bool IsWellFormed(string value) =>
        value.Length is >= 43 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <summary>BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).</summary>
    public static string ComputeChallenge(string verifier) =>
        Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>True when <paramref name="verifier"/> is well formed and hashes to <paramref name="challenge"/>; constant-time comparison (RFC 7636 §4.6).</summary>
    public static bool Verify(string verifier, string challenge)
    {
        if (!IsWellFormed(verifier)) return false;
        var computed = Encoding.ASCII.GetBytes(ComputeChallenge(verifier));
        var expected = Encoding.ASCII.GetBytes(challenge);
        return CryptographicOperations.FixedTimeEquals(computed, expected);
    }
}
