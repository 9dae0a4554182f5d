using System.Text.Json;
using IdentityServer.Account;
using IdentityServer.Interaction;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Connect;

/// <summary>The person's "Sign out" on the end-session confirmation (antiforgery-protected; the validated request travels in a sealed ticket).</summary>
public sealed class EndSessionConfirmModel(SessionLogout logout, InteractionTickets tickets) : PageModel
{
    [BindProperty] public string? Ticket { get; set; }

    /// <summary>Signs out, then redirects to the post-logout URI (with <c>state</c>) or shows "signed out".</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var value = tickets.Open(Ticket, InteractionTickets.EndSessionKind)?.Value;
        var request = value is null ? null : JsonSerializer.Deserialize<EndSessionModel.SealedRequest>(value);
        await logout.LogoutAsync(HttpContext);
        if (request?.PostLogoutRedirectUri is { } uri)
            return Redirect(EndSessionModel.PostLogoutUrl(uri, request.State));
        return Page();
    }
}
