using IdentityServer.Admin;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Admin;

/// <summary>
/// Create or edit one client: type (on creation), name, enabled, redirect and post-logout URIs (one per line), grant types,
/// scopes, consent, multi-factor, token lifetimes (seconds; empty for the server default). A new confidential client's secret and a rotated secret are shown once on the page that
/// answers the POST (never stored in a cookie or redirect). Clients declared in configuration are shown read-only.
/// </summary>
public sealed class ClientEditModel(ClientAdministration clients, ScopeCatalog catalog) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? ClientId { get; set; }
    [BindProperty] public string? NewClientId { get; set; }
    [BindProperty] public string? DisplayName { get; set; }
    [BindProperty] public bool Confidential { get; set; } = true;
    [BindProperty] public bool Enabled { get; set; } = true;
    [BindProperty] public string? RedirectUris { get; set; }
    [BindProperty] public string? PostLogoutRedirectUris { get; set; }
    [BindProperty] public List<string> GrantTypes { get; set; } = [];
    [BindProperty] public List<string> Scopes { get; set; } = [];
    [BindProperty] public bool RequireConsent { get; set; }
    [BindProperty] public bool RequireMfa { get; set; }
    [BindProperty] public int OverlapDays { get; set; } = 7;
    [BindProperty] public int? AccessTokenLifetimeSeconds { get; set; }
    [BindProperty] public int? RefreshTokenLifetimeSeconds { get; set; }

    public ClientView? Existing { get; private set; }
    public string? OneTimeSecret { get; private set; }

    /// <summary>A confirmation for this response only (pages that show a secret are rendered, not redirected to).</summary>
    public string? Notice { get; private set; }
    public bool IsNew => string.IsNullOrEmpty(ClientId);
    public bool ReadOnly => Existing?.Source == ClientSources.Configuration;
    public IEnumerable<string> KnownGrantTypes => SupportedGrantTypes.All.Order();
    public IEnumerable<string> KnownScopes => Protocol.Scopes.Identity.Concat(catalog.ApiScopeNames.Order());

    /// <summary>Shows the form, empty or filled from the client.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        if (IsNew) return Page();
        if (await clients.FindAsync(ClientId!, HttpContext.RequestAborted) is not { } c) return NotFound();
        Fill(c);
        return Page();
    }

    /// <summary>Creates or updates the client.</summary>
    public async Task<IActionResult> OnPostSaveAsync()
    {
        var definition = new ClientDefinition
        {
            ClientId = (IsNew ? NewClientId : ClientId)?.Trim() ?? "", DisplayName = DisplayName, Confidential = Confidential, Enabled = Enabled,
            RedirectUris = Lines(RedirectUris), PostLogoutRedirectUris = Lines(PostLogoutRedirectUris), GrantTypes = GrantTypes, Scopes = Scopes,
            RequireConsent = RequireConsent, RequireMfa = RequireMfa,
            AccessTokenLifetimeSeconds = AccessTokenLifetimeSeconds, RefreshTokenLifetimeSeconds = RefreshTokenLifetimeSeconds,
        };
        if (IsNew)
        {
            var created = await clients.CreateAsync(definition, Actor, HttpContext.RequestAborted);
            if (!created.Succeeded) { AddErrors(created); return Page(); }
            ClientId = created.Value!.Client.ClientId;
            Fill(created.Value.Client);
            OneTimeSecret = created.Value.Secret;
            Notice = $"Client {ClientId} created.";
            return Page();
        }
        var updated = await clients.UpdateAsync(ClientId!, definition, Actor, HttpContext.RequestAborted);
        if (!updated.Succeeded) { AddErrors(updated); Existing = await clients.FindAsync(ClientId!, HttpContext.RequestAborted); return Page(); }
        StatusMessage = $"Client {ClientId} saved.";
        return Redirect($"/admin/clients/edit/{Uri.EscapeDataString(ClientId!)}");
    }

    /// <summary>Adds a new secret (shown once) and lets the others expire after <see cref="OverlapDays"/>.</summary>
    public async Task<IActionResult> OnPostRotateAsync()
    {
        if (!ModelState.IsValid)
        {
            ModelState.AddModelError("", "The overlap must be a whole number of days between 0 and 90.");
            if (await clients.FindAsync(ClientId ?? "") is { } existing) Fill(existing);
            return Page();
        }
        var rotated = await clients.RotateSecretAsync(ClientId ?? "", OverlapDays, Actor, HttpContext.RequestAborted);
        if (!rotated.Succeeded) { AddErrors(rotated); if (await clients.FindAsync(ClientId ?? "") is { } c) Fill(c); return Page(); }
        Fill(rotated.Value!.Client);
        OneTimeSecret = rotated.Value.Secret;
        Notice = $"New secret created; the previous ones work until {rotated.Value.PreviousExpireAt:u}.";
        return Page();
    }

    /// <summary>Deletes the client.</summary>
    public async Task<IActionResult> OnPostDeleteAsync()
    {
        var deleted = await clients.DeleteAsync(ClientId ?? "", Actor, HttpContext.RequestAborted);
        if (!deleted.Succeeded) { AddErrors(deleted); if (await clients.FindAsync(ClientId ?? "") is { } c) Fill(c); return Page(); }
        StatusMessage = $"Client {ClientId} deleted.";
        return Redirect("/admin/clients");
    }

    private void Fill(ClientView c)
    {
        Existing = c;
        DisplayName = c.DisplayName; Confidential = c.Type == "confidential"; Enabled = c.Enabled;
        RedirectUris = string.Join("\n", c.RedirectUris); PostLogoutRedirectUris = string.Join("\n", c.PostLogoutRedirectUris);
        GrantTypes = [.. c.GrantTypes]; Scopes = [.. c.Scopes]; RequireConsent = c.RequireConsent; RequireMfa = c.RequireMfa;
        AccessTokenLifetimeSeconds = c.AccessTokenLifetimeSeconds; RefreshTokenLifetimeSeconds = c.RefreshTokenLifetimeSeconds;
    }

    private static List<string> Lines(string? text) =>
        (text ?? "").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
}
