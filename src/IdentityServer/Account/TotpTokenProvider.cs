using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Account;

/// <summary>
/// Identity's authenticator token provider (key generation, <c>otpauth://</c> enrolment) with stricter validation:
/// a code is accepted only for the current time step ±1 (RFC 6238 §5.2 recommends at most one step of network delay)
/// and only once per user: the newest accepted step is stored on the user, and a code for that step or an older one is
/// refused (RFC 6238 §5.2: "MUST NOT accept the second attempt of the same OTP"). The step is claimed with one
/// conditional update, so two requests racing with the same code cannot both win.
/// </summary>
public sealed class TotpTokenProvider(IdentityServerDbContext db, TimeProvider time, ILogger<TotpTokenProvider> logger)
    : AuthenticatorTokenProvider<ApplicationUser>
{
    /// <summary>Name under which the provider is registered and set as <c>TokenOptions.AuthenticatorTokenProvider</c>.</summary>
    public const string ProviderName = "Totp";

    /// <summary>True when <paramref name="token"/> (6 digits, spaces ignored) is the code of a step within ±1 of now that is newer than the last accepted one.</summary>
    public override async Task<bool> ValidateAsync(string purpose, string token, UserManager<ApplicationUser> manager, ApplicationUser user)
    {
        var key = await manager.GetAuthenticatorKeyAsync(user);
        var keyBytes = key is null ? null : Totp.FromBase32(key);
        if (keyBytes is null || keyBytes.Length == 0) return false;

        var step = Totp.MatchStep(keyBytes, token.Replace(" ", "", StringComparison.Ordinal), time.GetUtcNow());
        if (step is not { } matched) return false;

        var claimed = await db.Users.Where(u => u.Id == user.Id && (u.LastTotpStep == null || u.LastTotpStep < matched))
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.LastTotpStep, matched));
        if (claimed == 1) return true;
        logger.LogWarning("TOTP code for an already used time step refused for {UserId}", user.Id);
        return false;
    }
}
