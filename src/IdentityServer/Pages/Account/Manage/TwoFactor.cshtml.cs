using IdentityServer.Account;
using System.ComponentModel.DataAnnotations;
using System.Text;
using IdentityServer.Data.Entities;
using IdentityServer.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using QRCoder;

namespace IdentityServer.Pages.Account.Manage;

/// <summary>
/// Two-step verification with an authenticator app (TOTP, RFC 6238):
/// <list type="bullet">
/// <item>set up: a fresh shared key, shown as text and as a QR code (rendered here with QRCoder) of an <c>otpauth://totp/</c> URI naming
/// the issuer; switched on only when the person enters a first valid code, then 10 recovery codes are shown once (stored hashed)</item>
/// <item>new recovery codes: replaces all of them, shown once</item>
/// <item>turn off: asks for a current code or the password; removes the key and the recovery codes</item>
/// </list>
/// </summary>
public sealed class TwoFactorModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, IUserStore<ApplicationUser> store,
    IdentityServerOptions options, SignInAttempts attempts, ILogger<TwoFactorModel> logger) : AccountPageModel(users, signIn)
{
    /// <summary>How many recovery codes a person gets.</summary>
    public const int RecoveryCodeCount = 10;

    public bool Enabled { get; private set; }
    public int RecoveryCodesLeft { get; private set; }
    public string? SharedKey { get; private set; }
    public string? QrCodeDataUri { get; private set; }
    public string? AuthenticatorUri { get; private set; }
    public IReadOnlyList<string>? NewRecoveryCodes { get; private set; }

    [BindProperty, StringLength(64)] public string? Code { get; set; }
    [BindProperty, StringLength(1024), DataType(DataType.Password)] public string? Password { get; set; }

    /// <summary>Shows the state; with <c>?setup=true</c> also a new key to scan (not yet switched on).</summary>
    public async Task<IActionResult> OnGetAsync(bool setup)
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        await LoadAsync(user, setup && !await NeedsStepUpAsync(user));
        return Page();
    }

    /// <summary>Switches TOTP on after a valid first code for the key on screen; shows the recovery codes.</summary>
    public async Task<IActionResult> OnPostEnableAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (await Users.GetTwoFactorEnabledAsync(user)) return RedirectToPage();
        if (await NeedsStepUpAsync(user)) { await LoadAsync(user, setup: false); return Page(); }
        if (string.IsNullOrWhiteSpace(Code)
            || !await Users.VerifyTwoFactorTokenAsync(user, Users.Options.Tokens.AuthenticatorTokenProvider, Code.Trim()))
        {
            ModelState.AddModelError(nameof(Code), "That code is not correct. Check the time on your device and enter the current code.");
            await LoadAsync(user, setup: true);
            return Page();
        }
        await Users.SetTwoFactorEnabledAsync(user, true);
        NewRecoveryCodes = (await Users.GenerateNewTwoFactorRecoveryCodesAsync(user, RecoveryCodeCount))!.ToList();
        await RefreshSessionAsync(user);
        logger.LogInformation("Authenticator app enabled for {UserId}", user.Id);
        await AuditAsync(Audit.AuditEvents.TotpEnabled, user);
        await LoadAsync(user, setup: false);
        return Page();
    }

    /// <summary>Replaces every recovery code with 10 new ones, shown once.</summary>
    public async Task<IActionResult> OnPostRecoveryCodesAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (!await Users.GetTwoFactorEnabledAsync(user)) return RedirectToPage();
        NewRecoveryCodes = (await Users.GenerateNewTwoFactorRecoveryCodesAsync(user, RecoveryCodeCount))!.ToList();
        logger.LogInformation("Recovery codes regenerated for {UserId}", user.Id);
        await AuditAsync(Audit.AuditEvents.RecoveryCodesRegenerated, user);
        await LoadAsync(user, setup: false);
        return Page();
    }

    /// <summary>Turns TOTP off when a current code or the password is given.</summary>
    public async Task<IActionResult> OnPostDisableAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        // One place of the account's attempt budget per secret checked (a code and a password are two guesses).
        var hasCode = !string.IsNullOrWhiteSpace(Code);
        var hasPassword = !string.IsNullOrEmpty(Password);
        var locked = false;
        for (var i = 0; !locked && i < (hasCode && hasPassword ? 2 : 1); i++)
            locked = await attempts.TryTakeAsync(user, HttpContext.RequestAborted) is null;
        if (locked)
        {
            ModelState.AddModelError("", "Too many wrong codes or passwords. Try again later.");
            await LoadAsync(user, setup: false);
            return Page();
        }
        var byCode = hasCode && await Users.VerifyTwoFactorTokenAsync(user, Users.Options.Tokens.AuthenticatorTokenProvider, Code!.Trim());
        var proven = byCode || (hasPassword && await Users.CheckPasswordAsync(user, Password!));
        if (!proven)
        {
            await Users.AccessFailedAsync(user);
            logger.LogWarning("Turning off two-step verification refused for {UserId}: no valid code or password", user.Id);
            ModelState.AddModelError("", "Enter a current code from your app, or your password, to turn two-step verification off.");
            await LoadAsync(user, setup: false);
            return Page();
        }
        await Users.ResetAccessFailedCountAsync(user);
        await attempts.ResetAsync(user);
        await Users.SetTwoFactorEnabledAsync(user, false);
        await Users.RemoveAuthenticationTokenAsync(user, "[AspNetUserStore]", "AuthenticatorKey");
        await Users.GenerateNewTwoFactorRecoveryCodesAsync(user, 0);
        await RefreshSessionAsync(user);
        logger.LogInformation("Authenticator app disabled for {UserId}", user.Id);
        await AuditAsync(Audit.AuditEvents.TotpDisabled, user, byCode ? "confirmed with a code" : "confirmed with the password");
        StatusMessage = "Two-step verification is off.";
        return RedirectToPage();
    }

    private async Task LoadAsync(ApplicationUser user, bool setup)
    {
        Enabled = await Users.GetTwoFactorEnabledAsync(user);
        RecoveryCodesLeft = Enabled ? await Users.CountRecoveryCodesAsync(user) : 0;
        if (!setup || Enabled) return;

        // A key from an unfinished set-up is kept, so reloading the page does not invalidate what was scanned.
        // Only a key for the set-up, not yet in force: stored without renewing the security stamp (Identity's
        // ResetAuthenticatorKeyAsync would), so opening this page does not end the person's other sessions.
        if (await Users.GetAuthenticatorKeyAsync(user) is null)
        {
            await ((IUserAuthenticatorKeyStore<ApplicationUser>)store).SetAuthenticatorKeyAsync(user, Users.GenerateNewAuthenticatorKey(), HttpContext.RequestAborted);
            await Users.UpdateAsync(user);
        }
        var key = (await Users.GetAuthenticatorKeyAsync(user))!;
        SharedKey = string.Join(' ', Enumerable.Range(0, (key.Length + 3) / 4).Select(i => key.Substring(i * 4, Math.Min(4, key.Length - i * 4)))).ToLowerInvariant();
        AuthenticatorUri = OtpAuthUri(new Uri(options.Issuer).Authority, user.UserName ?? user.Id, key);
        using var qr = QRCodeGenerator.GenerateQrCode(AuthenticatorUri, QRCodeGenerator.ECCLevel.M);
        QrCodeDataUri = "data:image/png;base64," + Convert.ToBase64String(new PngByteQRCode(qr).GetGraphic(5));
    }

    /// <summary>The key URI authenticator apps read: <c>otpauth://totp/Issuer:account?secret=…&amp;issuer=Issuer&amp;digits=6&amp;period=30</c>.</summary>
    public static string OtpAuthUri(string issuer, string account, string base32Key)
    {
        var label = Uri.EscapeDataString(issuer) + ":" + Uri.EscapeDataString(account);
        return new StringBuilder("otpauth://totp/").Append(label)
            .Append("?secret=").Append(base32Key)
            .Append("&issuer=").Append(Uri.EscapeDataString(issuer))
            .Append("&digits=6&period=30").ToString();
    }
}
