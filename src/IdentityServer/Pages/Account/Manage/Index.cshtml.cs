using System.ComponentModel.DataAnnotations;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Account.Manage;

/// <summary>The profile page: user name (read-only), display name (the <c>name</c> claim) and e-mail address.</summary>
public sealed class IndexModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn) : AccountPageModel(users, signIn)
{
    public string UserName { get; private set; } = "";
    [BindProperty, StringLength(200)] public string? DisplayName { get; set; }
    [BindProperty, EmailAddress(ErrorMessage = "Enter a valid e-mail address."), StringLength(256)] public string? Email { get; set; }

    /// <summary>Shows the profile.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        Load(user);
        return Page();
    }

    /// <summary>Saves display name and e-mail; a changed e-mail address is no longer marked verified.</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (!ModelState.IsValid) { UserName = user.UserName ?? ""; return Page(); }
        user.DisplayName = string.IsNullOrWhiteSpace(DisplayName) ? null : DisplayName.Trim();
        var email = string.IsNullOrWhiteSpace(Email) ? null : Email.Trim();
        if (!string.Equals(email, user.Email, StringComparison.OrdinalIgnoreCase))
        {
            user.Email = email;
            user.NormalizedEmail = Users.NormalizeEmail(email);
            user.EmailConfirmed = false;
        }
        var result = await Users.UpdateAsync(user);
        if (!result.Succeeded)
        {
            foreach (var e in result.Errors) ModelState.AddModelError("", e.Description);
            Load(user);
            return Page();
        }
        StatusMessage = "Your profile was saved.";
        return RedirectToPage();
    }

    private void Load(ApplicationUser user)
    {
        UserName = user.UserName ?? "";
        DisplayName = user.DisplayName;
        Email = user.Email;
    }
}
