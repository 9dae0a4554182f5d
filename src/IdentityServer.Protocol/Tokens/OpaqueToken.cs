using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Tokens;

/// <summary>
/// Opaque artefacts (authorization codes, refresh tokens): 256 random bits, base64url, stored only as SHA-256.
/// </summary>
/// <remarks>RFC 6749 §10.10 (guessing), RFC 9700 §4.5 (codes), DESIGN: stored as hashes.</remarks>
public static class OpaqueToken
{
    /// <summary>A new token value: 32 random bytes as base64url (43 characters).</summary>
    public static string Create() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>The storage key for a token: base64url SHA-256 of its UTF-8 bytes (43 characters).</summary>
    public static string Hash(string value) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}
