using IdentityServer.Hosting;
using System.ComponentModel.DataAnnotations;
using IdentityServer.Account;
using IdentityServer.Data.Entities;
using IdentityServer.Audit;
using IdentityServer.Interaction;
using IdentityServer.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Pages.Account;

/// <summary>
/// Sign-in: a password (then a second factor when the person has one, see <see cref="LoginWith2faModel"/>), or a passkey
/// alone (a button, and WebAuthn conditional UI on the user-name field where the browser offers it). Identity's lockout
/// applies (5 failures → 15 minutes). The person may type a user name or an e-mail address. Every failure (unknown user, wrong password, lockout) shows the same message after the same hashing
/// work, so the page does not reveal which accounts exist; the log records why.
/// </summary>
public sealed class LoginModel(
    UserManager<ApplicationUser> users, SignInManager<ApplicationUser> signIn, InteractionService interaction, Passkeys passkeys,
    IdentityServerOptions options, IAuditLog audit, TimeProvider time, ServerMetrics metrics, SignInAttempts attempts, ILogger<LoginModel> logger) : PageModel
{
    [BindProperty] public InputModel Input { get; set; } = new();
    [BindProperty(SupportsGet = true)] public string? ReturnUrl { get; set; }
    public string? ErrorMessage { get; private set; }
    public string? ClientName { get; private set; }
    public bool ClientRequiresMfa { get; private set; }

    /// <summary>False when the server's address cannot use passkeys (an IP-address issuer).</summary>
    public bool PasskeysAvailable => options.Passkeys.IsAvailable(options.Issuer);

    /// <summary>True when this page shows a failed passkey attempt: the page script then does not start conditional UI again.</summary>
    public bool PasskeyFailed { get; private set; }

    /// <summary>The form fields.</summary>
    public sealed class InputModel
    {
        [Required(ErrorMessage = "Enter your user name or e-mail.")]
        [StringLength(256)]
        public string UserName { get; set; } = "";

        [Required(ErrorMessage = "Enter your password.")]
        [StringLength(1024)]
        [DataType(DataType.Password)]
        public string Password { get; set; } = "";
    }

    /// <summary>Shows the form, pre-filled from the authorization request's <c>login_hint</c>.</summary>
    public async Task OnGetAsync()
    {
        if (await LoadClientAsync() is { LoginHint: { } hint }) Input.UserName = hint;
    }

    /// <summary>Checks the password; on success signs in with <c>amr=pwd</c>, <c>auth_time</c> and <c>sid</c>, then returns to <see cref="ReturnUrl"/> (local only).</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        await LoadClientAsync();
        if (!ModelState.IsValid) return Page();

        var name = Input.UserName.Trim();
        var user = await users.FindByNameAsync(name) ?? await FindByUniqueEmailAsync(name);
        if (user is null)
        {
            // Same work as for a real account, so response time does not tell which user names exist.
            users.PasswordHasher.VerifyHashedPassword(new ApplicationUser(), DummyHash(), Input.Password);
            logger.LogWarning("Sign-in failed: unknown user");
            await audit.RecordAsync(AuditEntry.Anonymous(AuditEvents.SignInFailed, "unknown user"));
            metrics.SignIn("pwd", "failure");
            ErrorMessage = FailureMessage;
            return Page();
        }

        // Lockout and the account's attempt budget first (atomic across nodes): either one, and the password is not even checked.
        var place = await attempts.TryTakeAsync(user, HttpContext.RequestAborted);
        var wasLockedOut = place is null;
        var result = wasLockedOut ? Microsoft.AspNetCore.Identity.SignInResult.LockedOut
            : await signIn.CheckPasswordSignInAsync(user, Input.Password, lockoutOnFailure: true);
        if (!result.Succeeded)
        {
            // One message, and the same hashing work, for wrong password and lockout alike (Identity skips the hash
            // for a locked account): a distinct answer would confirm the account exists.
            if (result.IsLockedOut) users.PasswordHasher.VerifyHashedPassword(user, DummyHash(), Input.Password);
            // Identity answers "locked out" also for the wrong password that caused the lockout.
            var reason = wasLockedOut ? "locked out" : result.IsNotAllowed ? "not allowed" : "wrong password";
            logger.LogWarning("Sign-in failed for {UserId}: {Reason}", user.Id, reason);
            await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInFailed, user.Id, reason));
            metrics.SignIn("pwd", wasLockedOut ? "locked_out" : "failure");
            if (!wasLockedOut && result.IsLockedOut)
                await audit.RecordAsync(AuditEntry.Self(AuditEvents.UserLockedOut, user.Id, "too many wrong passwords"));
            ErrorMessage = FailureMessage;
            return Page();
        }

        metrics.SignIn("pwd", "success");
        await attempts.GiveBackAsync(user, place!.Value);
        // Two-step verification on means a second step, whatever state the key is in: if it cannot be read, only a recovery
        // code gets through (the second-step page logs that), rather than the password alone.
        if (await users.GetTwoFactorEnabledAsync(user))
        {
            await TwoFactorLogin.BeginAsync(HttpContext, users, user);
            logger.LogInformation("Password accepted for {UserId}; second factor required", user.Id);
            return RedirectToPage("/Account/LoginWith2fa", new { ReturnUrl = SafeReturnUrl() });
        }

        await TwoFactorLogin.EndAsync(HttpContext);
        await attempts.ResetAsync(user);
        await signIn.SignInWithClaimsAsync(user, isPersistent: false, SessionClaims.Create(time.GetUtcNow(), "pwd"));
        logger.LogInformation("Sign-in succeeded for {UserId} (pwd)", user.Id);
        await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInSucceeded, user.Id, "pwd"));
        return LocalRedirect(SafeReturnUrl());
    }

    /// <summary>Options for a passkey sign-in (WebAuthn <c>PublicKeyCredentialRequestOptionsJSON</c>, any discoverable credential); starts the ceremony.</summary>
    public async Task<IActionResult> OnPostPasskeyOptionsAsync() => Content(await passkeys.RequestOptionsAsync(), "application/json");

    /// <summary>Signs in with the passkey assertion in <paramref name="credential"/> (JSON of <c>PublicKeyCredential.toJSON()</c>); see <see cref="Passkeys.SignInAsync"/>.</summary>
    public async Task<IActionResult> OnPostPasskeyAsync(string? credential)
    {
        await LoadClientAsync();
        ModelState.Clear();
        if (string.IsNullOrEmpty(credential) || credential.Length > 64 * 1024)
        {
            ErrorMessage = "No passkey was received. Try again.";
            PasskeyFailed = true;
            return Page();
        }
        var outcome = await passkeys.SignInAsync(credential);
        if (!outcome.Succeeded)
        {
            ErrorMessage = outcome.Message;
            PasskeyFailed = true;
            return Page();
        }
        return LocalRedirect(SafeReturnUrl());
    }

    /// <summary>Shown for every failed sign-in.</summary>
    public const string FailureMessage = "The user name or password is incorrect, or the account is locked after too many failed attempts. Try again later.";

    private static string? _dummyHash;

    private string DummyHash() => _dummyHash ??= users.PasswordHasher.HashPassword(new ApplicationUser(), Guid.NewGuid().ToString());

    /// <summary>The one user with this e-mail address; null when none or several have it (addresses need not be unique).</summary>
    private async Task<ApplicationUser?> FindByUniqueEmailAsync(string email)
    {
        if (!email.Contains('@')) return null;
        var normalized = users.NormalizeEmail(email);
        var matches = await users.Users.Where(u => u.NormalizedEmail == normalized).Take(2).ToListAsync(HttpContext.RequestAborted);
        return matches.Count == 1 ? matches[0] : null;
    }

    private string SafeReturnUrl() => !string.IsNullOrEmpty(ReturnUrl) && Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/";

    /// <summary>The authorization request this sign-in serves, if any (from the interaction service): its client's name and rules.</summary>
    private async Task<AuthorizationContext?> LoadClientAsync()
    {
        var (context, _) = await interaction.GetAuthorizationContextAsync(SafeReturnUrl(), HttpContext.RequestAborted);
        if (context is not null)
        {
            ClientName = context.Client.Name;
            ClientRequiresMfa = context.Client.RequireMfa;
        }
        return context;
    }
}
