using IdentityServer.Account;
using IdentityServer.Http;
using IdentityServer.Protocol.Endpoints.Authorize;
using IdentityServer.Protocol.Endpoints.Discovery;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Pages;

/// <summary>
/// The consent screen (OpenID Connect Core §3.1.2.4). It re-validates the authorization request carried in
/// <see cref="ReturnUrl"/> with the same validator as the endpoint, so what it shows and where a denial is sent
/// (<c>access_denied</c> to the verified redirect URI) never depend on unchecked input.
/// </summary>
[Authorize]
public sealed class ConsentModel(AuthorizeRequestValidator validator, IConsentStore consents, ScopeCatalog catalog,
    IdentityServerOptions options, InteractionTickets tickets, TimeProvider time, ILogger<ConsentModel> logger) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? Problem { get; private set; }
    public string ClientName { get; private set; } = "";
    public List<string> ScopeDescriptions { get; } = [];

    /// <summary>Shows the client and the scopes it asks for.</summary>
    public async Task OnGetAsync()
    {
        if (await LoadAsync() is not var (request, _)) return;
        ClientName = request.Client.DisplayName ?? request.Client.ClientId;
        ScopeDescriptions.AddRange(request.Scopes.Select(s => ScopeText.Describe(s, catalog)));
    }

    /// <summary><c>decision=allow</c> remembers consent and resumes the request; anything else returns <c>access_denied</c>.</summary>
    public async Task<IActionResult> OnPostAsync(string? decision)
    {
        if (await LoadAsync() is not var (request, parameters)) return Page();
        var session = SessionClaims.FromPrincipal(User);
        if (session is null) return Challenge();

        if (decision == "allow")
        {
            await consents.GrantConsentAsync(session.SubjectId, request.Client.ClientId, request.Scopes, time.GetUtcNow(), HttpContext.RequestAborted);
            logger.LogInformation("Consent given by {SubjectId} to {ClientId}", session.SubjectId, request.Client.ClientId);
            var ticket = tickets.Issue("consent", AuthorizeEndpoint.ConsentBinding(request, session.SubjectId));
            return LocalRedirect(AuthorizeEndpoint.ReturnUrl(parameters, (InteractionTickets.ConsentParameter, ticket)));
        }
        logger.LogInformation("Consent denied by {SubjectId} to {ClientId}", session.SubjectId, request.Client.ClientId);
        var result = AuthorizeResponder.Error(HttpContext, options, request.RedirectUri, request.ResponseMode,
            OAuthError.AccessDenied("The end-user denied the request."), request.State);
        await result.ExecuteAsync(HttpContext);
        return new EmptyResult();
    }

    /// <summary>The re-validated request and its parameters, or null with <see cref="Problem"/> set.</summary>
    private async Task<(AuthorizeRequest Request, OAuthParameters Parameters)?> LoadAsync()
    {
        if (string.IsNullOrEmpty(ReturnUrl) || !ReturnUrl.StartsWith(EndpointPaths.Authorize + "?", StringComparison.Ordinal))
        {
            Problem = "The consent request is missing or malformed. Start again from the application.";
            return null;
        }
        var query = QueryHelpers.ParseQuery(ReturnUrl[EndpointPaths.Authorize.Length..]);
        var parsed = OAuthParameters.Parse(query.Select(kv => KeyValuePair.Create(kv.Key, (IReadOnlyList<string?>)kv.Value.ToArray())));
        if (!parsed.Succeeded) { Problem = parsed.Error.SafeDescription; return null; }
        var v = await validator.ValidateAsync(parsed.Value, HttpContext.RequestAborted);
        if (v.Request is null) { Problem = v.Error?.SafeDescription ?? "The request is invalid."; return null; }
        return (v.Request, parsed.Value);
    }
}
