using IdentityServer.Account;
using IdentityServer.Interaction;
using IdentityServer.Protocol;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages;

/// <summary>
/// The consent screen (OpenID Connect Core §3.1.2.4). The request it serves comes from the <see cref="InteractionService"/>, which
/// resolves the return URL (known client, registered redirect URI, allowed scopes): what the page shows and where a denial goes
/// (<c>access_denied</c> to the verified redirect URI) never depend on unchecked input.
/// </summary>
[Authorize]
public sealed class ConsentModel(InteractionService interaction, ScopeCatalog catalog) : PageModel
{
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? Problem { get; private set; }
    public string ClientName { get; private set; } = "";
    public List<string> ScopeDescriptions { get; } = [];

    /// <summary>Shows the client and the scopes it asks for.</summary>
    public async Task OnGetAsync()
    {
        if (await LoadAsync() is not { } context) return;
        ClientName = context.Client.Name;
        ScopeDescriptions.AddRange(context.Scopes.Select(s => ScopeText.Describe(s, catalog)));
    }

    /// <summary><c>decision=allow</c> remembers consent and resumes the request; anything else returns <c>access_denied</c>.</summary>
    public async Task<IActionResult> OnPostAsync(string? decision)
    {
        if (await LoadAsync() is not { } context) return Page();
        var session = SessionClaims.FromPrincipal(User);
        if (session is null) return Challenge();
        if (decision == "allow") return LocalRedirect(await interaction.GrantConsentAsync(context, session.SubjectId, HttpContext.RequestAborted));
        await interaction.DenyConsentAsync(HttpContext, context, session.SubjectId);
        return new EmptyResult();
    }

    private async Task<AuthorizationContext?> LoadAsync()
    {
        var (context, problem) = await interaction.GetAuthorizationContextAsync(ReturnUrl, HttpContext.RequestAborted);
        Problem = problem;
        return context;
    }
}
