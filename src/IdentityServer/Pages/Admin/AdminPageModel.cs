using System.Security.Claims;
using IdentityServer.Account;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using IdentityServer.Admin;
using IdentityServer.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages.Admin;

/// <summary>
/// Base of the admin UI pages (<c>/admin/…</c>; the folder requires a signed-in user with role <c>admin</c>, else the login
/// page or the 403 page). When <see cref="AdminOptions.RequireMfa"/> is in force (default: in Production), an admin whose
/// session has no <c>mfa</c> in its <c>amr</c> is sent to a page that explains how to step up, and nothing else runs.
/// </summary>
public abstract class AdminPageModel : PageModel
{
    /// <summary>A one-line confirmation shown after a change.</summary>
    [TempData] public string? StatusMessage { get; set; }

    /// <summary>The signed-in admin as the audit log's actor.</summary>
    protected AdminActor Actor => new("user", User.FindFirstValue(ClaimTypes.NameIdentifier));

    /// <summary>True for the page that explains the step-up itself.</summary>
    protected virtual bool SkipsMfaCheck => false;

    /// <summary>True when the admin UI demands a multi-factor session here.</summary>
    public static bool MfaRequired(HttpContext http)
    {
        var options = http.RequestServices.GetRequiredService<IdentityServerOptions>();
        return options.Admin.RequireMfa ?? http.RequestServices.GetRequiredService<IHostEnvironment>().IsProduction();
    }

    /// <inheritdoc />
    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        // The role claim in the cookie is only re-read at the security-stamp check (every 30 minutes): look the admin up now,
        // so a demoted, locked or deleted admin loses the admin UI with their next request.
        var users = HttpContext.RequestServices.GetRequiredService<UserManager<ApplicationUser>>();
        var me = await users.GetUserAsync(User);
        if (!await AdminApiAuthorization.IsActiveAdminAsync(users, me))
        {
            HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityServer.Admin")
                .LogWarning("Admin UI: {UserId} is no longer an active admin (403)", User.FindFirstValue(ClaimTypes.NameIdentifier));
            context.Result = new RedirectResult("/account/access-denied");
            return;
        }
        if (!SkipsMfaCheck && MfaRequired(HttpContext) && !SessionClaims.HasMfa(User))
        {
            HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityServer.Admin")
                .LogWarning("Admin UI: {UserId} signed in without a second factor (403)", User.FindFirstValue(ClaimTypes.NameIdentifier));
            context.Result = new RedirectResult("/admin/mfa-required");
            return;
        }
        await next();
    }

    /// <summary>Adds a failed operation's errors to the model state, for the validation summary.</summary>
    protected void AddErrors<T>(AdminResult<T> result)
    {
        foreach (var e in result.Errors ?? []) ModelState.AddModelError("", e);
    }
}
