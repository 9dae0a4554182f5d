using System.Security.Claims;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;

namespace IdentityServer.Account;

/// <summary>
/// The half-way state between a correct password and the second factor: a cookie of its own scheme (<see cref="Scheme"/>,
/// 5 minutes) naming the user and their security stamp at that moment. It grants nothing by itself; only the second-factor
/// page reads it, and a password change or reset (new stamp) voids it. It is kept apart from Identity's
/// <see cref="IdentityConstants.TwoFactorUserIdScheme"/> cookie, which holds passkey ceremony state, so starting a passkey
/// sign-in in another tab does not cancel a pending second step.
/// </summary>
public static class TwoFactorLogin
{
    /// <summary>The authentication scheme (and, prefixed, the cookie name) of the half-way state.</summary>
    public const string Scheme = "idsrv.mfa";

    /// <summary>How long a person has to enter the second factor.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    private const string StampClaim = "idsrv.stamp";

    /// <summary>Remembers that <paramref name="user"/> gave the right password and must now give a second factor.</summary>
    public static async Task BeginAsync(HttpContext http, UserManager<ApplicationUser> users, ApplicationUser user)
    {
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Id), new Claim(StampClaim, await users.GetSecurityStampAsync(user))], Scheme);
        await http.SignInAsync(Scheme, new ClaimsPrincipal(identity));
    }

    /// <summary>The user waiting for a second factor, or null when there is none (no cookie, expired, user gone, security stamp changed).</summary>
    public static async Task<ApplicationUser?> PendingUserAsync(HttpContext http, UserManager<ApplicationUser> users)
    {
        var result = await http.AuthenticateAsync(Scheme);
        var id = result.Principal?.FindFirstValue(ClaimTypes.Name);
        if (id is null || await users.FindByIdAsync(id) is not { } user) return null;
        return result.Principal!.FindFirstValue(StampClaim) == await users.GetSecurityStampAsync(user) ? user : null;
    }

    /// <summary>Ends the half-way state.</summary>
    public static Task EndAsync(HttpContext http) => http.SignOutAsync(Scheme);
}
