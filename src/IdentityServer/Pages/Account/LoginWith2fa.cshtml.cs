using IdentityServer.Hosting;
using System.ComponentModel.DataAnnotations;
using IdentityServer.Account;
using IdentityServer.Data.Entities;
using IdentityServer.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Account;

/// <summary>
/// The second sign-in step for a person with an authenticator app: a TOTP code (current step ±1, each step once; see
/// <see cref="TotpTokenProvider"/>) or one of their recovery codes (each once). Wrong codes count toward Identity's lockout
/// like wrong passwords. Success signs in with <c>amr</c> <c>pwd otp mfa</c> (TOTP) or <c>pwd mfa</c> (recovery code),
/// RFC 8176.
/// </summary>
public sealed class LoginWith2faModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn,
    IAuditLog audit, TimeProvider time, ServerMetrics metrics, SignInAttempts attempts, ILogger<LoginWith2faModel> logger) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    [BindProperty(SupportsGet = true)] public bool Recovery { get; set; }

    [BindProperty, Required(ErrorMessage = "Enter the code."), StringLength(64)]
    public string Code { get; set; } = "";

    public string? ErrorMessage { get; private set; }

    /// <summary>Shown for every failed code.</summary>
    public const string FailureMessage = "The code is not correct, or the account is locked after too many failed attempts. Try again later.";

    /// <summary>Shows the code form, or sends the person back to the password step when none is pending.</summary>
    public async Task<IActionResult> OnGetAsync() =>
        await TwoFactorLogin.PendingUserAsync(HttpContext, users) is null ? RedirectToLogin() : Page();

    /// <summary>Checks the code and finishes the sign-in.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var user = await TwoFactorLogin.PendingUserAsync(HttpContext, users);
        if (user is null) return RedirectToLogin();
        if (!ModelState.IsValid) return Page();

        // Identity's lockout, then the account's attempt budget (shared with the password step, atomic across nodes).
        if (await attempts.TryTakeAsync(user, HttpContext.RequestAborted) is null)
        {
            logger.LogWarning("Second factor refused for {UserId}: locked out", user.Id);
            await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInFailed, user.Id, "locked out"));
            metrics.SignIn(Recovery ? "recovery_code" : "otp", "locked_out");
            ErrorMessage = FailureMessage;
            return Page();
        }

        if (!Recovery && await users.GetAuthenticatorKeyAsync(user) is null)
            logger.LogError("Authenticator key of {UserId} cannot be read (Data Protection key ring changed?): only recovery codes can sign in", user.Id);
        var ok = Recovery
            ? (await users.RedeemTwoFactorRecoveryCodeAsync(user, Code.Trim())).Succeeded
            : await users.VerifyTwoFactorTokenAsync(user, users.Options.Tokens.AuthenticatorTokenProvider, Code.Trim());
        if (!ok)
        {
            await users.AccessFailedAsync(user);
            var lockedOut = await users.IsLockedOutAsync(user);
            var reason = Recovery ? "wrong recovery code" : "wrong TOTP code";
            logger.LogWarning("Second factor failed for {UserId}: {Reason}{Lockout}", user.Id, reason, lockedOut ? "; account locked out" : "");
            await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInFailed, user.Id, reason));
            metrics.SignIn(Recovery ? "recovery_code" : "otp", "failure");
            if (lockedOut) await audit.RecordAsync(AuditEntry.Self(AuditEvents.UserLockedOut, user.Id, "too many wrong codes"));
            ErrorMessage = FailureMessage;
            return Page();
        }

        await users.ResetAccessFailedCountAsync(user);
        await attempts.ResetAsync(user);
        await TwoFactorLogin.EndAsync(HttpContext);
        string[] amr = Recovery ? ["pwd", "mfa"] : ["pwd", "otp", "mfa"];
        await signIn.SignInWithClaimsAsync(user, isPersistent: false, SessionClaims.Create(time.GetUtcNow(), amr));
        await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInSucceeded, user.Id, Recovery ? "pwd+recovery_code" : "pwd+otp"));
        metrics.SignIn(Recovery ? "recovery_code" : "otp", "success");
        if (Recovery)
            logger.LogInformation("Sign-in succeeded for {UserId} (pwd + recovery code; {Left} left)", user.Id, await users.CountRecoveryCodesAsync(user));
        else
            logger.LogInformation("Sign-in succeeded for {UserId} (pwd + otp)", user.Id);
        return LocalRedirect(!string.IsNullOrEmpty(ReturnUrl) && Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }

    private IActionResult RedirectToLogin() => RedirectToPage("/Account/Login", new { ReturnUrl });
}
