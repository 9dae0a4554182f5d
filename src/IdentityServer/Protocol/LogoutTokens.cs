using System.Security.Cryptography;
using IdentityServer.Keys;
using IdentityServer.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol;

/// <summary>
/// Logout tokens (OpenID Connect Back-Channel Logout 1.0 §2.4): JWTs with header <c>typ: logout+jwt</c> and claims <c>iss aud iat exp jti
/// events sub sid</c>, never <c>nonce</c>, living 2 minutes, signed like the client's ID tokens by the key store's active key.
/// OpenIddict has no back-channel logout; this is ours.
/// </summary>
public sealed class LogoutTokens(IdentityServerOptions options, ISigningKeyStore keys, TimeProvider time)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The <c>events</c> member that marks a logout token (§2.4).</summary>
    public const string BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    /// <summary>A logout token for <paramref name="clientId"/> about <paramref name="subject"/>'s session <paramref name="sessionId"/>.</summary>
    /// <param name="algorithm">The client's <c>id_token_signed_response_alg</c>; null for the server default.</param>
    public async Task<string> CreateAsync(string clientId, string subject, string? sessionId, string? algorithm, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            [Claims.Audience] = clientId,
            [Claims.Subject] = subject,
            [Claims.JwtId] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            [ProtocolNames.Claims.Events] = new Dictionary<string, object> { [BackChannelLogoutEvent] = new Dictionary<string, object>() },
        };
        if (sessionId is not null) claims[ProtocolNames.Claims.SessionId] = sessionId;
        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = options.Issuer, IssuedAt = now.UtcDateTime, NotBefore = now.UtcDateTime, Expires = now.AddMinutes(2).UtcDateTime,
            TokenType = "logout+jwt", Claims = claims, SigningCredentials = await keys.GetSigningCredentialsAsync(ct, algorithm),
        });
    }
}
