using IdentityServer.Hosting;
using System.Globalization;
using System.Security.Cryptography;
using IdentityServer.Account;
using IdentityServer.Device;
using IdentityServer.Interaction;
using IdentityServer.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;
using Code = IdentityServer.Protocol.UserCode;

namespace IdentityServer.Pages.Device;

/// <summary>
/// The device flow's <c>verification_uri</c> (RFC 8628 §3.3), an OpenIddict end-user verification endpoint: the person types the
/// <c>user_code</c> their device shows. <c>verification_uri_complete</c> (<c>?user_code=…</c>) only fills the field in; the person still
/// presses Continue and then confirms (§5.4), so a link alone never approves anything. Code entry is rate-limited per client address
/// and per browser session (<see cref="UserCodeAttemptLimiter"/>, §5.1); wrong codes and refusals are logged, without the code. A
/// pending code leads, through sign-in when needed, to the confirmation screen with a sealed ticket that carries the code.
/// </summary>
public sealed class IndexModel(DeviceVerification verification, UserCodeAttemptLimiter limiter, InteractionTickets tickets,
    IdentityServerOptions options, ServerMetrics metrics, ILogger<IndexModel> logger) : PageModel
{
    /// <summary>Base name of the cookie that identifies a browser session for the attempt limit.</summary>
    public const string SessionCookie = "idsrv.device";

    [BindProperty(SupportsGet = true, Name = "user_code")] public string? UserCode { get; set; }
    public string? ErrorMessage { get; private set; }
    public (string Heading, string Text)? Outcome { get; private set; }

    /// <summary>Shows the form, pre-filled from <c>user_code</c> (formatted as <c>XXXX-XXXX</c> when it is one).</summary>
    public void OnGet()
    {
        EnsureSessionCookie();
        if (Code.Normalize(UserCode) is { } normalized) UserCode = Code.Format(normalized);
    }

    /// <summary>Checks the code: attempt limit (429 with <c>Retry-After</c> in seconds), unknown (form again), not pending (explanation), pending (to the confirmation screen).</summary>
    public async Task<IActionResult> OnPostAsync()
    {
        var address = HttpContext.Connection.RemoteIpAddress;
        if (await limiter.TryAcquireAsync(address, SessionKey(), HttpContext.RequestAborted) is { } wait)
        {
            logger.LogWarning("User code entry refused for {ClientAddress}: too many attempts", UserCodeAttemptLimiter.AddressKey(address));
            metrics.DeviceOutcome("throttled");
            var minutes = Math.Max(1, (int)Math.Ceiling(wait.TotalMinutes));
            Response.StatusCode = StatusCodes.Status429TooManyRequests;
            Response.Headers.RetryAfter = ((int)wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            Outcome = ("Too many attempts", $"Too many codes were entered from here. Wait {minutes} minute{(minutes == 1 ? "" : "s")}, then try again.");
            return Page();
        }

        var normalized = Code.Normalize(UserCode);
        var lookup = await verification.FindAsync(HttpContext, normalized);
        switch (lookup.State)
        {
            case DeviceVerificationState.Unknown:
                logger.LogWarning("User code entry failed for {ClientAddress}: unknown code", UserCodeAttemptLimiter.AddressKey(address));
                metrics.DeviceOutcome("invalid_code");
                ErrorMessage = "That code is not valid. Check the code shown on your device and try again.";
                return Page();
            case DeviceVerificationState.Pending:
                var ticket = tickets.Seal(InteractionTickets.DeviceKind, normalized!);
                return LocalRedirect(QueryHelpers.AddQueryString("/device/confirm", "ticket", ticket));
            default:
                logger.LogInformation("User code entered for a device authorization in state {State}", lookup.State);
                Outcome = DeviceMessages.For(lookup.State);
                return Page();
        }
    }

    /// <summary>The browser session for the attempt limit: the sign-in session when there is one, else this page's own cookie; null without either.</summary>
    private string? SessionKey()
    {
        if (SessionClaims.FromPrincipal(User)?.SessionId is { } sid) return "sid:" + sid;
        var (name, _) = CookieSetup.OwnCookie(options, SessionCookie);
        return Request.Cookies[name] is { Length: > 0 and <= 64 } value ? "cookie:" + value : null;
    }

    private void EnsureSessionCookie()
    {
        var (name, cookieOptions) = CookieSetup.OwnCookie(options, SessionCookie);
        if (!Request.Cookies.ContainsKey(name))
            Response.Cookies.Append(name, Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)), cookieOptions);
    }
}
