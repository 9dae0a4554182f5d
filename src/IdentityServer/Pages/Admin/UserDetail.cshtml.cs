using IdentityServer.Admin;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Admin;

/// <summary>One user: lock or unlock, reset the password, reset two-step verification, remove passkeys, set roles, delete.</summary>
public sealed class UserDetailModel(UserAdministration users) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string Id { get; set; } = "";
    [BindProperty] public string? NewPassword { get; set; }
    [BindProperty] public string? Roles { get; set; }
    public UserView? Target { get; private set; }

    /// <summary>Shows the user.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        Target = await users.FindAsync(Id, HttpContext.RequestAborted);
        if (Target is null) return NotFound();
        Roles = string.Join(", ", Target.Roles);
        return Page();
    }

    public Task<IActionResult> OnPostLockAsync() => RunAsync(a => a.LockAsync(Id, Actor, HttpContext.RequestAborted), "Locked.");
    public Task<IActionResult> OnPostUnlockAsync() => RunAsync(a => a.UnlockAsync(Id, Actor, HttpContext.RequestAborted), "Unlocked.");
    public Task<IActionResult> OnPostResetPasswordAsync() => RunAsync(a => a.ResetPasswordAsync(Id, NewPassword ?? "", Actor, HttpContext.RequestAborted), "Password reset.");
    public Task<IActionResult> OnPostResetTwoFactorAsync() => RunAsync(a => a.ResetTwoFactorAsync(Id, Actor, HttpContext.RequestAborted), "Two-step verification turned off.");
    public Task<IActionResult> OnPostRemovePasskeysAsync() => RunAsync(a => a.RemovePasskeysAsync(Id, Actor, HttpContext.RequestAborted), "Passkeys removed.");
    public Task<IActionResult> OnPostRolesAsync() => RunAsync(a => a.SetRolesAsync(Id,
        (Roles ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Actor, HttpContext.RequestAborted), "Roles saved.");

    /// <summary>Deletes the user.</summary>
    public async Task<IActionResult> OnPostDeleteAsync()
    {
        var r = await users.DeleteAsync(Id, Actor, HttpContext.RequestAborted);
        if (!r.Succeeded) return await ShowErrorsAsync(r);
        StatusMessage = $"User {r.Value!.UserName} deleted.";
        return Redirect("/admin/users");
    }

    private async Task<IActionResult> RunAsync(Func<UserAdministration, Task<AdminResult<UserView>>> change, string done)
    {
        var r = await change(users);
        if (!r.Succeeded) return await ShowErrorsAsync(r);
        StatusMessage = done;
        return Redirect($"/admin/users/{Id}");
    }

    private async Task<IActionResult> ShowErrorsAsync(AdminResult<UserView> r)
    {
        if (r.Failure == AdminFailure.NotFound) return NotFound();
        AddErrors(r);
        Target = await users.FindAsync(Id, HttpContext.RequestAborted);
        return Page();
    }
}
