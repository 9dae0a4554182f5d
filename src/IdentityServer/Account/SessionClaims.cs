using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using IdentityServer.Interaction;
using IdentityServer.Protocol;
using Microsoft.AspNetCore.Identity;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Account;

/// <summary>
/// The claims the sign-in cookie carries besides Identity's own: the sign-in instant (round-trip ISO 8601, full precision,
/// so "signed in after this request asked" is exact; tokens get whole-second <c>auth_time</c>), <c>sid</c> (random session
/// id) and <c>amr</c> (RFC 8176 values).
/// </summary>
public static class SessionClaims
{
    public const string AuthTime = "idsrv.auth_time";
    public const string SessionId = "sid";
    public const string Amr = "amr";

    /// <summary>Claims for a new session that authenticated at <paramref name="now"/> with the given methods.</summary>
    public static IReadOnlyList<Claim> Create(DateTimeOffset now, params string[] amr)
    {
        var claims = new List<Claim>
        {
            new(AuthTime, now.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), ClaimValueTypes.DateTime),
            new(SessionId, Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16))),
        };
        claims.AddRange(amr.Select(a => new Claim(Amr, a)));
        return claims;
    }

    /// <summary>The session of a signed-in principal, or null when it is anonymous or lacks <c>auth_time</c>.</summary>
    public static EndUserSession? FromPrincipal(ClaimsPrincipal principal)
    {
        if (principal.Identity?.IsAuthenticated != true) return null;
        var sub = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var authTime = principal.FindFirstValue(AuthTime);
        if (sub is null || !DateTimeOffset.TryParse(authTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)) return null;
        var amr = principal.FindAll(Amr).Select(c => c.Value).Distinct().ToArray();
        return new EndUserSession(sub, at, amr, principal.FindFirstValue(SessionId));
    }

    /// <summary>True when the principal's session used a second factor or a passkey (<c>amr</c> contains <c>mfa</c>, RFC 8176).</summary>
    public static bool HasMfa(ClaimsPrincipal principal) => principal.HasClaim(Amr, ProtocolNames.Mfa);

    /// <summary>This session's own claims (<c>auth_time</c>, <c>sid</c>, <c>amr</c>) from a signed-in principal, to sign the same session in again.</summary>
    public static IReadOnlyList<Claim> Carry(ClaimsPrincipal principal) =>
        principal.Claims.Where(c => c.Type is AuthTime or SessionId or Amr).Select(c => new Claim(c.Type, c.Value, c.ValueType)).ToArray();

    /// <summary>Keeps <c>auth_time</c>, <c>sid</c> and <c>amr</c> when Identity's security-stamp check re-creates the principal.</summary>
    public static Task CopyOnRefresh(SecurityStampRefreshingPrincipalContext context)
    {
        if (context.NewPrincipal?.Identity is ClaimsIdentity identity && context.CurrentPrincipal is { } current)
            foreach (var c in current.Claims.Where(c => c.Type is AuthTime or SessionId or Amr))
                if (!identity.HasClaim(c.Type, c.Value)) identity.AddClaim(new Claim(c.Type, c.Value, c.ValueType));
        return Task.CompletedTask;
    }
}
