using System.Security.Claims;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;

namespace IdentityServer.Account;

/// <summary>
/// The half-way state between a correct password and the second factor: a short-lived cookie of Identity's
/// <see cref="IdentityConstants.TwoFactorUserIdScheme"/> (5 minutes) naming the user. It grants nothing by itself; only the
/// second-factor page reads it.
/// </summary>
public static class TwoFactorLogin
{
    /// <summary>Remembers that <paramref name="user"/> gave the right password and must now give a second factor.</summary>
    public static Task BeginAsync(HttpContext http, ApplicationUser user) =>
        http.SignInAsync(IdentityConstants.TwoFactorUserIdScheme,
            new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Id)], IdentityConstants.TwoFactorUserIdScheme)));

    /// <summary>The user waiting for a second factor, or null when there is none (no cookie, expired, user gone).</summary>
    public static async Task<ApplicationUser?> PendingUserAsync(HttpContext http, UserManager<ApplicationUser> users)
    {
        var result = await http.AuthenticateAsync(IdentityConstants.TwoFactorUserIdScheme);
        var id = result.Principal?.FindFirstValue(ClaimTypes.Name);
        return id is null ? null : await users.FindByIdAsync(id);
    }

    /// <summary>Ends the half-way state.</summary>
    public static Task EndAsync(HttpContext http) => http.SignOutAsync(IdentityConstants.TwoFactorUserIdScheme);
}
