using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Validates tokens the way a relying party would: against the server's published JWKS.</summary>
public static class Tokens
{
    /// <summary>The server's JWKS.</summary>
    public static async Task<JsonWebKeySet> JwksAsync(HttpClient http) => new(await http.GetStringAsync("/.well-known/jwks.json"));

    /// <summary>Asserts <paramref name="token"/> has a valid signature from <paramref name="keys"/>, the test issuer and JOSE <c>typ</c> <paramref name="type"/>; returns it parsed.</summary>
    public static async Task<JsonWebToken> ValidateAsync(string token, JsonWebKeySet keys, string type)
    {
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = IdentityServerFactory.Issuer, ValidateAudience = false, IssuerSigningKeys = keys.Keys, ValidTypes = [type], ValidateLifetime = false,
        });
        Assert.True(result.IsValid, result.Exception?.Message);
        return (JsonWebToken)result.SecurityToken;
    }
}
