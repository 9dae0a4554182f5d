using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// A WebAuthn authenticator in software, for server-side tests of passkey ceremonies (WebAuthn Level 3 §6): one ES256
/// (P-256) discoverable credential, "none" attestation, and responses shaped as <c>PublicKeyCredential.toJSON()</c>.
/// Tests can make it misbehave: another origin or RP ID, no user verification, any signature counter.
/// </summary>
public sealed class SoftwareAuthenticator(string rpId, bool backupEligible = false)
{
    private ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The credential id (16 random bytes).</summary>
    public byte[] CredentialId { get; private set; } = RandomNumberGenerator.GetBytes(16);

    /// <summary>
    /// An authenticator holding a credential registered earlier (e.g. by a previous release, for upgrade tests): its id, the user
    /// handle (base64url, as the creation options carried it), its P-256 private key (PKCS#8) and its counter.
    /// </summary>
    public static SoftwareAuthenticator Restore(string rpId, byte[] credentialId, string userHandle, byte[] privateKeyPkcs8, uint signCount)
    {
        var key = ECDsa.Create();
        key.ImportPkcs8PrivateKey(privateKeyPkcs8, out _);
        return new SoftwareAuthenticator(rpId) { _key = key, CredentialId = credentialId, UserHandle = userHandle, SignCount = signCount };
    }

    /// <summary>The user handle learnt at registration (<c>user.id</c> of the creation options).</summary>
    public string? UserHandle { get; private set; }

    /// <summary>The counter the next response carries; 0 means "no counter" as synced passkeys do.</summary>
    public uint SignCount { get; set; }

    /// <summary>The registration response for <paramref name="creationOptionsJson"/> as a browser at <paramref name="origin"/> would send it.</summary>
    public string Register(string creationOptionsJson, string origin)
    {
        var options = JsonNode.Parse(creationOptionsJson)!;
        UserHandle = options["user"]!["id"]!.GetValue<string>();
        var clientData = ClientData("webauthn.create", options["challenge"]!.GetValue<string>(), origin);
        var p = _key.ExportParameters(false);
        byte[] cose = [0xA5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, .. Bytes(p.Q.X!), 0x22, .. Bytes(p.Q.Y!)];
        byte[] authData = [.. AuthData(rpId, Flags(userVerified: true) | 0x40), .. new byte[16], 0, (byte)CredentialId.Length, .. CredentialId, .. cose];
        byte[] attestation = [0xA3, .. Text("fmt"), .. Text("none"), .. Text("attStmt"), 0xA0, .. Text("authData"), .. Bytes(authData)];
        return JsonSerializer.Serialize(new
        {
            id = B64(CredentialId), rawId = B64(CredentialId), type = "public-key", authenticatorAttachment = "platform", clientExtensionResults = new { },
            response = new { clientDataJSON = B64(clientData), attestationObject = B64(attestation), transports = new[] { "internal" } },
        });
    }

    /// <summary>
    /// The authentication response for <paramref name="requestOptionsJson"/>. Overrides make it wrong on purpose:
    /// <paramref name="origin"/> (client data), <paramref name="signedRpId"/> (RP ID hash), <paramref name="userVerified"/>.
    /// </summary>
    public string Assert(string requestOptionsJson, string origin, string? signedRpId = null, bool userVerified = true)
    {
        var clientData = ClientData("webauthn.get", JsonNode.Parse(requestOptionsJson)!["challenge"]!.GetValue<string>(), origin);
        var authData = AuthData(signedRpId ?? rpId, Flags(userVerified));
        var signature = _key.SignData([.. authData, .. SHA256.HashData(clientData)], HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        return JsonSerializer.Serialize(new
        {
            id = B64(CredentialId), rawId = B64(CredentialId), type = "public-key", authenticatorAttachment = "platform", clientExtensionResults = new { },
            response = new { clientDataJSON = B64(clientData), authenticatorData = B64(authData), signature = B64(signature), userHandle = UserHandle },
        });
    }

    private byte Flags(bool userVerified) => (byte)(0x01 | (userVerified ? 0x04 : 0) | (backupEligible ? 0x08 : 0));

    private byte[] AuthData(string id, int flags) =>
        [.. SHA256.HashData(Encoding.UTF8.GetBytes(id)), (byte)flags, (byte)(SignCount >> 24), (byte)(SignCount >> 16), (byte)(SignCount >> 8), (byte)SignCount];

    private static byte[] ClientData(string type, string challenge, string origin) =>
        JsonSerializer.SerializeToUtf8Bytes(new { type, challenge, origin, crossOrigin = false });

    /// <summary>A CBOR byte string (major type 2) of fewer than 65,536 bytes.</summary>
    private static byte[] Bytes(byte[] b) => b.Length switch
    {
        < 24 => [(byte)(0x40 | b.Length), .. b],
        < 256 => [0x58, (byte)b.Length, .. b],
        _ => [0x59, (byte)(b.Length >> 8), (byte)b.Length, .. b],
    };

    /// <summary>A CBOR text string (major type 3) of fewer than 24 bytes.</summary>
    private static byte[] Text(string s)
    {
        var b = Encoding.UTF8.GetBytes(s);
        return [(byte)(0x60 | b.Length), .. b];
    }

    private static string B64(byte[] b) => Base64UrlEncoder.Encode(b);
}
