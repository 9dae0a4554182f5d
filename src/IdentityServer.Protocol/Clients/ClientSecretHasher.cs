using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Clients;

/// <summary>
/// Generates, hashes and verifies client secrets. Secrets are high-entropy (256 bits), so a fast
/// SHA-256 is the right hash (a slow password hash buys nothing); comparison is constant time.
/// </summary>
public static class ClientSecretHasher
{
    /// <summary>Shortest secret accepted from configuration or an admin, in characters: 43, the length of 256 random bits in base64url.</summary>
    public const int MinimumSecretLength = 43;

    /// <summary>A new secret: 32 random bytes (256 bits) as base64url, 43 characters.</summary>
    public static string GenerateSecret() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Base64url SHA-256 of the UTF-8 bytes of <paramref name="secret"/>.</summary>
    public static string Hash(string secret) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>True when <paramref name="secret"/> matches one of the unexpired <paramref name="secrets"/>; constant time per secret.</summary>
    public static bool Verify(string secret, IEnumerable<ClientSecret> secrets, DateTimeOffset now)
    {
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        var match = false;
        foreach (var stored in secrets)
        {
            if (stored.ExpiresAt is { } exp && exp <= now) continue;
            byte[] expected;
            try { expected = Base64UrlEncoder.DecodeBytes(stored.Hash); }
            catch (FormatException) { continue; }
            match |= CryptographicOperations.FixedTimeEquals(presented, expected);
        }
        return match;
    }
}
