using System.ComponentModel.DataAnnotations;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using PasskeyCeremonies = IdentityServer.Account.Passkeys;

namespace IdentityServer.Pages.Account.Manage;

/// <summary>
/// The person's passkeys: list (name, created, last used), add with a name (WebAuthn registration, see
/// <see cref="PasskeyCeremonies.RegisterAsync"/>), rename, remove. Ids in forms are base64url credential ids.
/// </summary>
public sealed class PasskeysModel(UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, PasskeyCeremonies passkeys,
    IdentityServerDbContext db, IdentityServer.Options.IdentityServerOptions options, ILogger<PasskeysModel> logger) : AccountPageModel(users, signIn)
{
    /// <summary>One row of the list.</summary>
    public sealed record Row(string Id, string Name, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, bool Synced);

    public List<Row> Rows { get; } = [];

    /// <summary>False when the server's address cannot use passkeys (an IP-address issuer).</summary>
    public bool PasskeysAvailable => options.Passkeys.IsAvailable(options.Issuer);

    [BindProperty, StringLength(100)] public string? Name { get; set; }
    [BindProperty, StringLength(1400)] public string? Id { get; set; }
    public string? ErrorMessage { get; private set; }

    /// <summary>Shows the list.</summary>
    public async Task<IActionResult> OnGetAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        await NeedsStepUpAsync(user);
        await LoadAsync(user);
        return Page();
    }

    /// <summary>Options for <c>navigator.credentials.create</c> (WebAuthn <c>PublicKeyCredentialCreationOptionsJSON</c>); starts the ceremony.</summary>
    public async Task<IActionResult> OnPostCreationOptionsAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (await NeedsStepUpAsync(user)) return StatusCode(StatusCodes.Status403Forbidden);
        return Content(await passkeys.CreationOptionsAsync(user), "application/json");
    }

    /// <summary>Stores the passkey in <paramref name="credential"/> (JSON of <c>PublicKeyCredential.toJSON()</c>) under <see cref="Name"/>.</summary>
    public async Task<IActionResult> OnPostAddAsync(string? credential)
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (!ModelState.IsValid) return await InvalidNameAsync(user);
        if (await NeedsStepUpAsync(user)) { await LoadAsync(user); return Page(); }
        var name = string.IsNullOrWhiteSpace(Name) ? "Passkey" : Name.Trim();
        var outcome = string.IsNullOrEmpty(credential) || credential.Length > 64 * 1024
            ? new IdentityServer.Account.PasskeyOutcome(false, "No passkey was received. Try again.")
            : await passkeys.RegisterAsync(user, credential, name);
        if (!outcome.Succeeded)
        {
            ErrorMessage = outcome.Message;
            await LoadAsync(user);
            return Page();
        }
        StatusMessage = $"Passkey \"{name}\" added.";
        return RedirectToPage();
    }

    /// <summary>Renames the passkey <see cref="Id"/> to <see cref="Name"/>.</summary>
    public async Task<IActionResult> OnPostRenameAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (!ModelState.IsValid) return await InvalidNameAsync(user);
        if (FindId() is not { } id || string.IsNullOrWhiteSpace(Name) || await Users.GetPasskeyAsync(user, id) is not { } passkey)
            return await NotFoundPage(user);
        passkey.Name = Name.Trim();
        await Users.AddOrUpdatePasskeyAsync(user, passkey);
        StatusMessage = $"Passkey renamed to \"{passkey.Name}\".";
        return RedirectToPage();
    }

    /// <summary>Removes the passkey <see cref="Id"/>; it can no longer sign in.</summary>
    public async Task<IActionResult> OnPostRemoveAsync()
    {
        if (await CurrentUserAsync() is not { } user) return Challenge();
        if (FindId() is not { } id || await Users.GetPasskeyAsync(user, id) is not { } passkey) return await NotFoundPage(user);
        await Users.RemovePasskeyAsync(user, id);
        var key = Base64UrlEncoder.Encode(id);
        await db.PasskeyUsage.Where(u => u.CredentialId == key).ExecuteDeleteAsync();
        logger.LogInformation("Passkey removed for {UserId}", user.Id);
        await AuditAsync(Audit.AuditEvents.PasskeyRemoved, user, passkey.Name);
        StatusMessage = $"Passkey \"{passkey.Name ?? "Passkey"}\" removed.";
        return RedirectToPage();
    }

    private byte[]? FindId()
    {
        try { return string.IsNullOrEmpty(Id) ? null : Base64UrlEncoder.DecodeBytes(Id); }
        catch (FormatException) { return null; }
    }

    private async Task<IActionResult> InvalidNameAsync(ApplicationUser user)
    {
        ErrorMessage = "A passkey name can have at most 100 characters.";
        await LoadAsync(user);
        return Page();
    }

    private async Task<IActionResult> NotFoundPage(ApplicationUser user)
    {
        ErrorMessage = "That passkey does not exist (any more).";
        await LoadAsync(user);
        return Page();
    }

    private async Task LoadAsync(ApplicationUser user)
    {
        var lastUsed = await passkeys.LastUsedAsync(user.Id);
        foreach (var p in (await Users.GetPasskeysAsync(user)).OrderBy(p => p.CreatedAt))
        {
            var id = Base64UrlEncoder.Encode(p.CredentialId);
            Rows.Add(new Row(id, p.Name ?? "Passkey", p.CreatedAt, lastUsed.TryGetValue(id, out var at) ? at : null, p.IsBackupEligible));
        }
    }
}
