using IdentityServer.Account;
using System.ComponentModel.DataAnnotations;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Account.Manage;

/// <summary>Change password: the current one, then a new one (at least 12 characters, Identity's policy). The session stays signed in.</summary>
public sealed class PasswordModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, SignInAttempts attempts, ILogger<PasswordModel> logger)
    : AccountPageModel(users, signIn)
{
    [BindProperty, Required(ErrorMessage = "Enter your current password."), DataType(DataType.Password), StringLength(1024)]
    public string CurrentPassword { get; set; } = "";

    [BindProperty, Required(ErrorMessage = "Enter a new password."), DataType(DataType.Password), StringLength(1024)]
    public string NewPassword { get; set; } = "";

    [BindProperty, Compare(nameof(NewPassword), ErrorMessage = "The two new passwords differ."), DataType(DataType.Password)]
    public string ConfirmPassword { get; set; } = "";

    /// <summary>Shows the form.</summary>
    public IActionResult OnGet() => Page();

    /// <summary>Changes the password; a wrong current password or a weak new one is shown on the form.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (!ModelState.IsValid) return Page();
        // The account's attempt budget too (SignInAttempts): racing requests with a stolen session cannot outrun the lockout.
        var place = await attempts.TryTakeAsync(user, HttpContext.RequestAborted);
        if (place is null)
        {
            ModelState.AddModelError("", "Too many wrong passwords. Try again later.");
            return Page();
        }
        var result = await Users.ChangePasswordAsync(user, CurrentPassword, NewPassword);
        if (!result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.PasswordMismatch))) await attempts.GiveBackAsync(user, place.Value);
        if (!result.Succeeded)
        {
            // A wrong current password counts toward lockout, as at sign-in: a stolen session must not become a password oracle.
            if (result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.PasswordMismatch))) await Users.AccessFailedAsync(user);
            foreach (var e in result.Errors) ModelState.AddModelError("", e.Description);
            logger.LogWarning("Password change refused for {UserId}: {Codes}", user.Id, string.Join(",", result.Errors.Select(e => e.Code)));
            return Page();
        }
        await Users.ResetAccessFailedCountAsync(user);
        await RefreshSessionAsync(user);
        logger.LogInformation("Password changed for {UserId}", user.Id);
        await AuditAsync(Audit.AuditEvents.PasswordChanged, user);
        StatusMessage = "Your password was changed.";
        return RedirectToPage();
    }
}
