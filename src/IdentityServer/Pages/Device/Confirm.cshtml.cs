using IdentityServer.Account;
using IdentityServer.Device;
using IdentityServer.Http;
using IdentityServer.Protocol.Endpoints.Device;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Stores;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Pages.Device;

/// <summary>
/// The device flow's confirmation screen (RFC 8628 §3.3, §5.4): for the signed-in person, the client's name, the scopes it asks
/// for and the user code to compare with the device, with Approve and Deny. Reached only with the sealed ticket the code-entry
/// page issues (15 minutes); the decision is a single conditional update, so it happens once.
/// </summary>
[Authorize]
public sealed class ConfirmModel(DeviceVerification verification, InteractionTickets tickets, IUserProfileStore users,
    ScopeCatalog catalog) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? Ticket { get; set; }
    public string ClientName { get; private set; } = "";
    public string UserCode { get; private set; } = "";
    public List<string> ScopeDescriptions { get; } = [];
    public (string Heading, string Text)? Outcome { get; private set; }

    /// <summary>Set when the client requires multi-factor sign-in and this session has none: where to sign in again.</summary>
    public string? StepUpUrl { get; private set; }

    /// <summary>Shows the request, or why it cannot be decided.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        if (OpenTicket() is not var (id, code)) return Page();
        var lookup = await verification.FindByIdAsync(id, HttpContext.RequestAborted);
        if (lookup.State != DeviceVerificationState.Pending) { Outcome = DeviceMessages.For(lookup.State); return Page(); }
        if (NeedsStepUp(lookup)) return Page();
        ClientName = lookup.Client!.DisplayName ?? lookup.Client.ClientId;
        UserCode = IdentityServer.Protocol.Grants.UserCode.Format(code);
        ScopeDescriptions.AddRange(lookup.Record!.Scopes.Select(s => ScopeText.Describe(s, catalog)));
        return Page();
    }

    /// <summary><c>decision=approve</c> approves for the signed-in person; anything else denies.</summary>
    public async Task<IActionResult> OnPostAsync(string? decision)
    {
        if (OpenTicket() is not var (id, _)) return Page();
        var session = SessionClaims.FromPrincipal(User);
        if (session is null || await users.FindActiveAsync(session.SubjectId, HttpContext.RequestAborted) is null) return Challenge();
        var result = decision == "approve"
            ? await verification.ApproveAsync(id, session, HttpContext.RequestAborted)
            : await verification.DenyAsync(id, session.SubjectId, HttpContext.RequestAborted);
        if (result.State == DeviceVerificationState.MfaRequired && NeedsStepUp(result)) return Page();
        Outcome = DeviceMessages.For(result.State);
        return Page();
    }

    /// <summary>
    /// True (with <see cref="Outcome"/> and <see cref="StepUpUrl"/> set) when the client requires multi-factor authentication and
    /// this session's <c>amr</c> has no <c>mfa</c>: the person must sign in again with a second factor or a passkey first. The page
    /// checks it to show the step-up before the buttons; <see cref="DeviceVerification.ApproveAsync"/> enforces it.
    /// </summary>
    private bool NeedsStepUp(DeviceVerificationLookup lookup)
    {
        if (lookup.Client is not { RequireMfa: true } || SessionClaims.HasMfa(User)) return false;
        Outcome = ("Two-step verification required", $"{lookup.Client.DisplayName ?? lookup.Client.ClientId} requires you to sign in with two-step verification or a passkey.");
        StepUpUrl = QueryHelpers.AddQueryString("/account/login", "ReturnUrl", Request.Path + Request.QueryString);
        return true;
    }

    /// <summary>The device authorization id and normalized user code from <see cref="Ticket"/>, or null with <see cref="Outcome"/> set.</summary>
    private (string Id, string Code)? OpenTicket()
    {
        var value = tickets.Open(Ticket, IndexModel.TicketKind)?.Value;
        var bar = value?.IndexOf('|') ?? -1;
        if (value is null || bar <= 0)
        {
            Outcome = ("This link is not valid any more", "Enter the code from your device again.");
            return null;
        }
        return (value[..bar], value[(bar + 1)..]);
    }
}
