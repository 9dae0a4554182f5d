using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>The hashes a client computes itself, written out here from the RFC text so tests do not borrow the server's code.</summary>
public static class Hashes
{
    /// <summary>The <c>S256</c> code challenge of <paramref name="verifier"/>: base64url of SHA-256 of its ASCII bytes (RFC 7636 §4.2).</summary>
    public static string S256Challenge(string verifier) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));

    /// <summary>
    /// The <c>at_hash</c> of an RS256/ES256/PS256 ID token: base64url of the left half of SHA-256 of the access token's ASCII bytes
    /// (OpenID Connect Core 1.0 §3.1.3.6).
    /// </summary>
    public static string LeftHalfSha256(string value) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(value))[..16]);
}
