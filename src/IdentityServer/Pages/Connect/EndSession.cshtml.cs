using System.Text.Json;
using IdentityServer.Account;
using IdentityServer.Http;
using IdentityServer.Protocol.Endpoints.EndSession;
using IdentityServer.Protocol.Requests;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Pages.Connect;

/// <summary>
/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), GET or form POST from the relying party. After
/// <see cref="EndSessionValidator"/>:
/// <list type="bullet">
/// <item>an <c>id_token_hint</c> from this session (same <c>sub</c> and <c>sid</c>) ends it at once (§2: the hint shows the RP acts
/// for this person); otherwise, with a session, the person confirms on a page first (§3: the OP SHOULD ask)</item>
/// <item>the session ends with back-channel notifications (<see cref="SessionLogout"/>); then the browser goes to the verified
/// <c>post_logout_redirect_uri</c> with <c>state</c>, or sees a "signed out" page</item>
/// </list>
/// Invalid requests get a readable error page (400), never a redirect.
/// </summary>
[IgnoreAntiforgeryToken] // relying parties post here cross-site; the confirmation form has its own page and token
public sealed class EndSessionModel(EndSessionValidator validator, SessionLogout logout, InteractionTickets tickets) : PageModel
{
    /// <summary>Kind of the sealed ticket that carries a validated request to the confirmation.</summary>
    public const string TicketKind = "endsession";

    public string? Problem { get; private set; }
    public string? ClientName { get; private set; }
    public string? Ticket { get; private set; }
    public bool SignedOut { get; private set; }

    /// <summary>A GET request.</summary>
    public Task<IActionResult> OnGetAsync() => HandleAsync(HttpParameters.FromQuery(Request));

    /// <summary>A form POST request.</summary>
    public async Task<IActionResult> OnPostAsync() => await HandleAsync(await HttpParameters.FromFormAsync(Request, HttpContext.RequestAborted));

    private async Task<IActionResult> HandleAsync(Protocol.Errors.OAuthResult<OAuthParameters> parsed)
    {
        var validated = parsed.Succeeded ? await validator.ValidateAsync(parsed.Value, HttpContext.RequestAborted) : parsed.Error!;
        if (!validated.Succeeded)
        {
            Problem = validated.Error.SafeDescription;
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var request = validated.Value;
        var session = SessionClaims.FromPrincipal(User);
        // Silent only for a hint from this very session: same person and, when the hint names one, the same sid. Any other ID
        // token of the person (an old one, another RP's) could otherwise sign them out from a link on any page.
        if (session is not null && (request.HintSubject != session.SubjectId || (request.HintSessionId is { } hintSid && hintSid != session.SessionId)))
        {
            ClientName = request.Client?.DisplayName ?? request.Client?.ClientId;
            Ticket = tickets.Seal(TicketKind, JsonSerializer.Serialize(new SealedRequest(request.PostLogoutRedirectUri, request.State)));
            return Page();
        }
        await logout.LogoutAsync(HttpContext);
        if (request.PostLogoutRedirectUri is not { } uri)
        {
            SignedOut = true;
            return Page();
        }
        return Redirect(PostLogoutUrl(uri, request.State));
    }

    /// <summary>The verified post-logout URI with <c>state</c> added when there is one (RP-Initiated Logout §3).</summary>
    public static string PostLogoutUrl(string uri, string? state) => state is null ? uri : QueryHelpers.AddQueryString(uri, "state", state);

    /// <summary>The part of a validated request the confirmation needs.</summary>
    public sealed record SealedRequest(string? PostLogoutRedirectUri, string? State);
}
