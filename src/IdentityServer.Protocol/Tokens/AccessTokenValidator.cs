using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Keys;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Stores;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Tokens;

/// <summary>
/// Validates this server's own access tokens where it is itself the resource (userinfo, admin API). In order:
/// <list type="number">
/// <item>a JWT signed by a published key of this issuer, with header <c>typ: at+jwt</c> (an ID token is refused; RFC 9068 §4);
/// an unknown <c>kid</c> makes the key store re-read the database once (rate-limited) before the token is refused</item>
/// <item>unexpired, against the injected clock</item>
/// <item><c>aud</c> contains the audience the caller serves (RFC 9068 §4)</item>
/// <item>recorded here by <c>jti</c> and not revoked, alone or with its grant</item>
/// </list>
/// Every failure is <c>invalid_token</c> (401, RFC 6750 §3.1); scope checks are the caller's (<c>insufficient_scope</c>, 403).
/// </summary>
public sealed class AccessTokenValidator(IdentityServerOptions options, ISigningKeyStore keys, IGrantStore grants, TimeProvider time)
{
    /// <summary>The validated token, or <c>invalid_token</c>.</summary>
    /// <param name="audience">The audience the caller serves; default: the issuer.</param>
    /// <param name="anyAudience">True to accept every audience (introspection answers for any resource server).</param>
    public async Task<OAuthResult<JsonWebToken>> ValidateAsync(string accessToken, string? audience = null, CancellationToken ct = default, bool anyAudience = false)
    {
        var result = await SelfIssuedJwt.ValidateAsync(accessToken, keys, published => new TokenValidationParameters
        {
            ValidIssuer = options.Issuer,
            ValidAudience = audience ?? options.Issuer,
            ValidateAudience = !anyAudience,
            IssuerSigningKeys = published,
            ValidTypes = [TokenFactory.AccessTokenType],
            ValidateLifetime = false, // checked below against the injected clock
            RequireExpirationTime = true,
        }, ct);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
            return OAuthError.InvalidToken("The access token is invalid.");
        if (jwt.ValidTo <= time.GetUtcNow().UtcDateTime)
            return OAuthError.InvalidToken("The access token has expired.");
        if (!jwt.TryGetPayloadValue<string>("jti", out var jti) || !await grants.IsAccessTokenActiveAsync(jti, ct))
            return OAuthError.InvalidToken("The access token has been revoked.");
        return jwt;
    }
}
