using IdentityServer.Account;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Account.Manage;

/// <summary>
/// Base of the signed-in person's own account pages (<c>/account/…</c>): the current user, and re-issuing the session
/// cookie after a change that renews Identity's security stamp (password, two-factor), keeping the session's
/// <c>auth_time</c>, <c>sid</c> and <c>amr</c>.
/// </summary>
[Authorize]
public abstract class AccountPageModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn) : PageModel
{
    /// <summary>The user manager.</summary>
    protected UserManager<ApplicationUser> Users => users;

    /// <summary>A one-line confirmation shown at the top of the page after a change.</summary>
    [TempData] public string? StatusMessage { get; set; }

    /// <summary>The signed-in user; null when the account no longer exists (the page then signs out).</summary>
    protected Task<ApplicationUser?> CurrentUserAsync() => users.GetUserAsync(User);

    /// <summary>Set by <see cref="NeedsStepUpAsync"/>: where to sign in again with a second factor or a passkey.</summary>
    public string? StepUpUrl { get; private set; }

    /// <summary>
    /// True (and <see cref="StepUpUrl"/> set) when <paramref name="user"/> already has a second factor or a passkey but this
    /// session was opened without one (<c>amr</c> lacks <c>mfa</c>): adding another factor then needs that level first, so a
    /// stolen password cannot be turned into a multi-factor sign-in (NIST SP 800-63B §6.1.2.1).
    /// </summary>
    protected async Task<bool> NeedsStepUpAsync(ApplicationUser user)
    {
        var hasFactor = await users.GetTwoFactorEnabledAsync(user) || (await users.GetPasskeysAsync(user)).Count > 0;
        if (!hasFactor || SessionClaims.HasMfa(User)) return false;
        StepUpUrl = Microsoft.AspNetCore.WebUtilities.QueryHelpers.AddQueryString("/account/login", "ReturnUrl", Request.Path.Value ?? "/account");
        return true;
    }

    /// <summary>Records a change the person made to their own account in the audit log.</summary>
    protected Task AuditAsync(string auditEvent, ApplicationUser user, string? reason = null) =>
        HttpContext.RequestServices.GetRequiredService<Audit.IAuditLog>()
            .RecordAsync(Audit.AuditEntry.Self(auditEvent, user.Id, reason), HttpContext.RequestAborted);

    /// <summary>Signs the same session in again so the new security stamp does not end it.</summary>
    protected Task RefreshSessionAsync(ApplicationUser user) =>
        signIn.SignInWithClaimsAsync(user, isPersistent: false, SessionClaims.Carry(User));
}
