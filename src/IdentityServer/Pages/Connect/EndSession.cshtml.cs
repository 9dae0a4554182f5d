using System.Text.Json;
using IdentityServer.Account;
using IdentityServer.Interaction;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Pages.Connect;

/// <summary>
/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0), GET or form POST from the relying party, after OpenIddict
/// validated the request (the <c>id_token_hint</c>, <c>client_id</c> against it, the <c>post_logout_redirect_uri</c> registered for the
/// client; see <see cref="Protocol.Handlers.EndSessionHints"/>). Then:
/// <list type="bullet">
/// <item>an <c>id_token_hint</c> from this session (same <c>sub</c> and <c>sid</c>) ends it at once (§2: the hint shows the RP acts
/// for this person); otherwise, with a session, the person confirms on a page first (§3: the OP SHOULD ask)</item>
/// <item>the session ends with back-channel notifications (<see cref="SessionLogout"/>); then the browser goes to the verified
/// <c>post_logout_redirect_uri</c> with <c>state</c>, or sees a "signed out" page</item>
/// </list>
/// Invalid requests get a readable error page (400), never a redirect.
/// </summary>
[IgnoreAntiforgeryToken] // relying parties post here cross-site; the confirmation form has its own page and token
public sealed class EndSessionModel(SessionLogout logout, InteractionTickets tickets, ClientApplicationManager clients) : PageModel
{
    public string? Problem { get; private set; }
    public string? ClientName { get; private set; }
    public string? Ticket { get; private set; }
    public bool SignedOut { get; private set; }

    /// <summary>A GET request.</summary>
    public Task<IActionResult> OnGetAsync() => HandleAsync();

    /// <summary>A form POST request.</summary>
    public Task<IActionResult> OnPostAsync() => HandleAsync();

    private async Task<IActionResult> HandleAsync()
    {
        Response.Headers.CacheControl = "no-store";
        var request = HttpContext.GetOpenIddictServerRequest();
        if (request is null || HttpContext.GetOpenIddictServerResponse() is { Error: not null })
        {
            Problem = HttpContext.GetOpenIddictServerResponse()?.ErrorDescription ?? "The sign-out request is malformed.";
            Response.StatusCode = StatusCodes.Status400BadRequest;
            return Page();
        }
        var hint = (await HttpContext.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme)).Principal;
        var (hintSubject, hintSid) = (hint?.GetClaim(Claims.Subject), hint?.GetClaim(Protocol.ProtocolNames.Claims.SessionId));
        var postLogout = request.PostLogoutRedirectUri;
        var state = postLogout is null ? null : request.State;

        var session = SessionClaims.FromPrincipal(User);
        // Silent only for a hint from this very session: same person and, when the hint names one, the same sid. Any other ID
        // token of the person (an old one, another RP's) could otherwise sign them out from a link on any page.
        if (session is not null && (hintSubject != session.SubjectId || (hintSid is not null && hintSid != session.SessionId)))
        {
            var clientId = request.ClientId ?? hint?.GetAudiences().FirstOrDefault();
            ClientName = clientId is null ? null : (await clients.FindProfileAsync(clientId, HttpContext.RequestAborted))?.Name;
            Ticket = tickets.Seal(InteractionTickets.EndSessionKind, JsonSerializer.Serialize(new SealedRequest(postLogout, state)));
            return Page();
        }
        await logout.LogoutAsync(HttpContext);
        if (postLogout is null)
        {
            SignedOut = true;
            return Page();
        }
        return Redirect(PostLogoutUrl(postLogout, state));
    }

    /// <summary>The verified post-logout URI with <c>state</c> added when there is one (RP-Initiated Logout §3).</summary>
    public static string PostLogoutUrl(string uri, string? state) => state is null ? uri : QueryHelpers.AddQueryString(uri, "state", state);

    /// <summary>The part of a validated request the confirmation needs.</summary>
    public sealed record SealedRequest(string? PostLogoutRedirectUri, string? State);
}
