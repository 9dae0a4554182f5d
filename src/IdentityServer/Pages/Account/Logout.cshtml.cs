using IdentityServer.Account;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Account;

/// <summary>Ends the server session (with back-channel logout to its clients). GET asks for confirmation (a link alone must not sign people out); POST signs out.</summary>
public sealed class LogoutModel(SessionLogout logout) : PageModel
{
    public bool SignedOut { get; private set; }

    /// <summary>Shows the confirmation, or "signed out" when there is no session.</summary>
    public void OnGet() => SignedOut = User.Identity?.IsAuthenticated != true;

    /// <summary>Deletes the session cookie.</summary>
    public async Task OnPostAsync()
    {
        await logout.LogoutAsync(HttpContext);
        SignedOut = true;
    }
}
