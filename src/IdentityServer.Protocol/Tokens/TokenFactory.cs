using System.Security.Cryptography;
using System.Text;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Keys;
using IdentityServer.Protocol.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Tokens;

/// <summary>Creates signed JWTs: access tokens per RFC 9068 and ID tokens per OpenID Connect Core §2.</summary>
public sealed class TokenFactory(IdentityServerOptions options, ISigningKeyStore keys, ScopeCatalog scopes)
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The <c>typ</c> header of access tokens (RFC 9068 §2.1).</summary>
    public const string AccessTokenType = "at+jwt";

    /// <summary>
    /// A signed access token: header <c>typ: at+jwt</c>; claims <c>iss sub aud client_id scope jti exp iat</c>
    /// (plus <c>auth_time</c>, <c>amr</c> and <c>sid</c> for an end-user). Lifetime <paramref name="lifetimeSeconds"/>, by default
    /// <see cref="LifetimeOptions.AccessTokenSeconds"/>.
    /// </summary>
    /// <param name="clientId">The <c>client_id</c> claim.</param>
    /// <param name="subject">End-user <c>sub</c>; for client credentials the client id (RFC 9068 §2.2).</param>
    /// <param name="grantedScopes">Goes into <c>scope</c>, space-separated; decides <c>aud</c>.</param>
    /// <param name="authTime">End-user authentication time, when there is one.</param>
    /// <param name="amr">Authentication methods, when there is an end-user.</param>
    /// <param name="now">Issue time.</param>
    /// <exception cref="InvalidOperationException">No scope names a resource, so there would be no <c>aud</c>.</exception>
    public async Task<IssuedJwt> CreateAccessTokenAsync(
        string clientId, string subject, IReadOnlyList<string> grantedScopes, DateTimeOffset? authTime,
        IReadOnlyList<string>? amr, DateTimeOffset now, CancellationToken ct = default, int? lifetimeSeconds = null)
    {
        var jti = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var expires = now.AddSeconds(lifetimeSeconds ?? options.Lifetimes.AccessTokenSeconds);
        var audiences = scopes.AudiencesFor(grantedScopes, options.Issuer);
        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["client_id"] = clientId,
            ["scope"] = Grants.Scopes.Join(grantedScopes),
            ["jti"] = jti,
        };
        // RFC 9068 §2.2 requires aud; the grant rules guarantee a resource scope, so none here is a bug, not bad input.
        if (audiences.Count == 0) throw new InvalidOperationException("An access token needs an audience: no openid or API scope was granted.");
        claims["aud"] = audiences.Count == 1 ? audiences[0] : audiences.ToArray();
        if (authTime is { } at) claims["auth_time"] = at.ToUnixTimeSeconds();
        if (amr is { Count: > 0 }) claims["amr"] = amr.ToArray();
        var token = await SignAsync(claims, AccessTokenType, now, expires, ct);
        return new IssuedJwt(token, jti, expires);
    }

    /// <summary>
    /// A signed ID token with <c>iss sub aud exp iat auth_time nonce amr at_hash sid</c> (OpenID Connect Core §2, §3.1.3.6).
    /// Lifetime <see cref="LifetimeOptions.IdTokenSeconds"/>; signed with <paramref name="algorithm"/> (a configured one; default the first).
    /// </summary>
    public async Task<string> CreateIdTokenAsync(
        string clientId, string subject, DateTimeOffset authTime, IReadOnlyList<string> amr, string? sessionId,
        string? nonce, string? accessToken, DateTimeOffset now, CancellationToken ct = default, string? algorithm = null)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["aud"] = clientId,
            ["auth_time"] = authTime.ToUnixTimeSeconds(),
        };
        if (amr.Count > 0) claims["amr"] = amr.ToArray();
        if (nonce is not null) claims["nonce"] = nonce;
        if (sessionId is not null) claims["sid"] = sessionId;
        if (accessToken is not null) claims["at_hash"] = LeftHalfHash(accessToken);
        return await SignAsync(claims, "JWT", now, now.AddSeconds(options.Lifetimes.IdTokenSeconds), ct, algorithm);
    }

    /// <summary>The <c>events</c> member that marks a logout token (OpenID Connect Back-Channel Logout 1.0 §2.4).</summary>
    public const string BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

    /// <summary>
    /// A logout token (OpenID Connect Back-Channel Logout 1.0 §2.4): header <c>typ: logout+jwt</c>; claims <c>iss aud iat exp jti
    /// events sub sid</c>, no <c>nonce</c>; lifetime 2 minutes.
    /// </summary>
    /// <param name="algorithm">The client's ID token algorithm: logout tokens are signed like its ID tokens (§2.4); null for the default.</param>
    public Task<string> CreateLogoutTokenAsync(string clientId, string subject, string? sessionId, DateTimeOffset now, CancellationToken ct = default, string? algorithm = null)
    {
        var claims = new Dictionary<string, object>
        {
            ["aud"] = clientId,
            ["sub"] = subject,
            ["jti"] = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)),
            ["events"] = new Dictionary<string, object> { [BackChannelLogoutEvent] = new Dictionary<string, object>() },
        };
        if (sessionId is not null) claims["sid"] = sessionId;
        return SignAsync(claims, "logout+jwt", now, now.AddMinutes(2), ct, algorithm);
    }

    /// <summary>The <c>at_hash</c> for RS256, PS256 and ES256 (all SHA-256): base64url of the left-most 128 bits of SHA-256 of the ASCII token (OpenID Connect Core §3.1.3.6).</summary>
    public static string LeftHalfHash(string value)
    {
        var hash = SHA256.HashData(Encoding.ASCII.GetBytes(value));
        return Base64UrlEncoder.Encode(hash.AsSpan(0, hash.Length / 2).ToArray());
    }

    private async Task<string> SignAsync(Dictionary<string, object> claims, string type, DateTimeOffset now, DateTimeOffset expires, CancellationToken ct, string? algorithm = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Issuer,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            TokenType = type,
            Claims = claims,
            SigningCredentials = await keys.GetSigningCredentialsAsync(ct, algorithm),
        };
        return Handler.CreateToken(descriptor);
    }
}

/// <summary>A signed JWT with its <c>jti</c> and expiry.</summary>
public sealed record IssuedJwt(string Token, string Jti, DateTimeOffset ExpiresAt);
