using IdentityServer.Account;
using IdentityServer.Device;
using IdentityServer.Interaction;
using IdentityServer.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Pages.Device;

/// <summary>
/// The device flow's confirmation screen (RFC 8628 §3.3, §5.4), an OpenIddict end-user verification endpoint: for the signed-in
/// person, the client's name, the scopes it asks for and the user code to compare with the device, with Approve and Deny. Reached
/// only with the sealed ticket the code-entry page issues (15 minutes), which carries the code; the decision happens once.
/// </summary>
[Authorize]
public sealed class ConfirmModel(DeviceVerification verification, InteractionTickets tickets, ActiveUsers users, ScopeCatalog catalog) : PageModel
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
        if (OpenTicket() is not { } code) return Page();
        var lookup = await verification.FindAsync(HttpContext, code);
        if (lookup.State != DeviceVerificationState.Pending) { Outcome = DeviceMessages.For(lookup.State); return Page(); }
        if (NeedsStepUp(lookup)) return Page();
        ClientName = lookup.Client!.Name;
        UserCode = Protocol.UserCode.Format(code);
        ScopeDescriptions.AddRange(lookup.Scopes!.Select(s => ScopeText.Describe(s, catalog)));
        return Page();
    }

    /// <summary><c>decision=approve</c> approves for the signed-in person; anything else denies.</summary>
    public async Task<IActionResult> OnPostAsync(string? decision)
    {
        if (OpenTicket() is not { } code) return Page();
        var session = SessionClaims.FromPrincipal(User);
        if (session is null || await users.FindActiveAsync(session.SubjectId, HttpContext.RequestAborted) is null) return Challenge();
        var result = decision == "approve"
            ? await verification.ApproveAsync(HttpContext, code, session)
            : await verification.DenyAsync(HttpContext, code, session.SubjectId);
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
        if (lookup.Client is not { RequireMfa: true } client || SessionClaims.HasMfa(User)) return false;
        Outcome = ("Two-step verification required", $"{client.Name} requires you to sign in with two-step verification or a passkey.");
        StepUpUrl = QueryHelpers.AddQueryString("/account/login", "ReturnUrl", Request.Path + Request.QueryString);
        return true;
    }

    /// <summary>The normalized user code from <see cref="Ticket"/>, or null with <see cref="Outcome"/> set.</summary>
    private string? OpenTicket()
    {
        if (Protocol.UserCode.Normalize(tickets.Open(Ticket, InteractionTickets.DeviceKind)?.Value) is { } code) return code;
        Outcome = ("This link is not valid any more", "Enter the code from your device again.");
        return null;
    }
}
