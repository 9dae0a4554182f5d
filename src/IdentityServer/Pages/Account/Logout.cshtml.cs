using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Account;

/// <summary>Ends the server session. GET asks for confirmation (a link alone must not sign people out); POST signs out.</summary>
public sealed class LogoutModel(SignInManager<ApplicationUser> signIn, ILogger<LogoutModel> logger) : PageModel
{
    public bool SignedOut { get; private set; }

    /// <summary>Shows the confirmation, or "signed out" when there is no session.</summary>
    public void OnGet() => SignedOut = User.Identity?.IsAuthenticated != true;

    /// <summary>Deletes the session cookie.</summary>
    public async Task OnPostAsync()
    {
        if (User.Identity?.IsAuthenticated == true)
        {
            await signIn.SignOutAsync();
            logger.LogInformation("Signed out {UserName}", User.Identity.Name);
            HttpContext.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
        }
        SignedOut = true;
    }
}
