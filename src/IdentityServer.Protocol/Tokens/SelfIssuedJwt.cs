using IdentityServer.Protocol.Keys;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Tokens;

/// <summary>
/// Validates a JWT this server issued against its published keys; when the token's <c>kid</c> is unknown (another node may have
/// rotated moments ago), the key store re-reads the database once (rate-limited) and validation is tried again.
/// </summary>
public static class SelfIssuedJwt
{
    private static readonly JsonWebTokenHandler Handler = new();

    /// <summary>The validation result; <paramref name="parameters"/> builds the parameters around the current published keys.</summary>
    public static async Task<TokenValidationResult> ValidateAsync(string token, ISigningKeyStore keys,
        Func<IReadOnlyList<JsonWebKey>, TokenValidationParameters> parameters, CancellationToken ct)
    {
        var result = await Handler.ValidateTokenAsync(token, parameters(await keys.GetPublishedKeysAsync(ct)));
        if (result.Exception is not SecurityTokenSignatureKeyNotFoundException) return result;
        await keys.RefreshAsync(ct);
        return await Handler.ValidateTokenAsync(token, parameters(await keys.GetPublishedKeysAsync(ct)));
    }
}
