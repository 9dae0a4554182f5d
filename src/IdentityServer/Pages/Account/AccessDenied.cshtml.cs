using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Account;

/// <summary>Where a signed-in person lands when a page needs a role they do not have (status 403: authenticated, not allowed).</summary>
public sealed class AccessDeniedModel : PageModel
{
    /// <summary>Shows the page with status 403.</summary>
    public void OnGet() => Response.StatusCode = StatusCodes.Status403Forbidden;
}
