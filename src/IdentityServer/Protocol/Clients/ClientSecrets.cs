using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Clients;

/// <summary>
/// One secret of a confidential client as stored: the SHA-256 of the secret, never the secret.
/// </summary>
/// <param name="Sha256">Base64url SHA-256 of the secret's UTF-8 bytes (43 characters).</param>
/// <param name="CreatedAt">When it was set.</param>
/// <param name="ExpiresAt">When it stops working (a rotation gives the previous secrets an end); null for no end.</param>
/// <param name="Description">What it is, e.g. <c>rotated</c>; never the secret.</param>
public sealed record StoredClientSecret(
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("created_at")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("expires_at")] DateTimeOffset? ExpiresAt = null,
    [property: JsonPropertyName("description")] string? Description = null);

/// <summary>
/// Client secrets (RFC 6749 §2.3.1): generated with 256 random bits, stored as SHA-256, compared in constant time. A slow
/// password hash (OpenIddict's default is PBKDF2) buys nothing against guessing a 256-bit value and would make every token
/// request several times slower. A client may have several secrets at once while deployments switch over after a rotation;
/// they are kept together as a JSON array of <see cref="StoredClientSecret"/> in OpenIddict's <c>ClientSecret</c> column.
/// </summary>
public static class ClientSecrets
{
    /// <summary>Shortest secret accepted from configuration or an admin, in characters: 43, the length of 256 random bits in base64url.</summary>
    public const int MinimumSecretLength = 43;

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>A new secret: 32 random bytes (256 bits) as base64url, 43 characters.</summary>
    public static string Generate() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Base64url SHA-256 of the UTF-8 bytes of <paramref name="secret"/>.</summary>
    public static string Hash(string secret) => Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>The stored form of <paramref name="secrets"/>: a JSON array.</summary>
    public static string Serialize(IEnumerable<StoredClientSecret> secrets) => JsonSerializer.Serialize(secrets.ToArray(), Json);

    /// <summary>The secrets in a stored value; empty for null, empty or unreadable values (which then match no secret).</summary>
    public static IReadOnlyList<StoredClientSecret> Parse(string? stored)
    {
        if (string.IsNullOrEmpty(stored) || stored[0] != '[') return [];
        try { return JsonSerializer.Deserialize<StoredClientSecret[]>(stored, Json) ?? []; }
        catch (JsonException) { return []; }
    }

    /// <summary>
    /// True when <paramref name="presented"/> matches one of the <paramref name="secrets"/> that has not expired at
    /// <paramref name="now"/>. Every stored secret is compared, in constant time, so the time taken tells nothing.
    /// </summary>
    public static bool Verify(string presented, IReadOnlyList<StoredClientSecret> secrets, DateTimeOffset now)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        var match = false;
        foreach (var stored in secrets)
        {
            byte[] expected;
            try { expected = Base64UrlEncoder.DecodeBytes(stored.Sha256); }
            catch (FormatException) { continue; }
            var equal = CryptographicOperations.FixedTimeEquals(hash, expected);
            match |= equal && (stored.ExpiresAt is not { } end || end > now);
        }
        return match;
    }
}
