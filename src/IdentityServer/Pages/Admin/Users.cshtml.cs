using IdentityServer.Admin;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Admin;

/// <summary>The user list (searchable by user name or e-mail) and the form to create a user.</summary>
public sealed class UsersModel(UserAdministration users) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? Search { get; set; }
    [BindProperty] public string? NewUserName { get; set; }
    [BindProperty] public string? NewEmail { get; set; }
    [BindProperty] public string? NewPassword { get; set; }
    [BindProperty] public string? NewRoles { get; set; }
    public IReadOnlyList<UserView> Users { get; private set; } = [];

    /// <summary>Lists the users.</summary>
    public async Task OnGetAsync() => Users = await users.ListAsync(Search, ct: HttpContext.RequestAborted);

    /// <summary>Creates a user.</summary>
    public async Task<IActionResult> OnPostCreateAsync()
    {
        var roles = (NewRoles ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var created = await users.CreateAsync(NewUserName?.Trim() ?? "", string.IsNullOrWhiteSpace(NewEmail) ? null : NewEmail.Trim(), NewPassword ?? "", roles, Actor, HttpContext.RequestAborted);
        if (!created.Succeeded)
        {
            AddErrors(created);
            Users = await users.ListAsync(Search, ct: HttpContext.RequestAborted);
            return Page();
        }
        StatusMessage = $"User {created.Value!.UserName} created.";
        return Redirect($"/admin/users/{created.Value.Id}");
    }
}
