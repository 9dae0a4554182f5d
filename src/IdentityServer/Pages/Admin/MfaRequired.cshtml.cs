namespace IdentityServer.Pages.Admin;

/// <summary>Explains how an admin without a second factor in this session gets into the admin UI (status 403).</summary>
public sealed class MfaRequiredModel : AdminPageModel
{
    /// <inheritdoc />
    protected override bool SkipsMfaCheck => true;

    /// <summary>Shows the explanation.</summary>
    public void OnGet() => Response.StatusCode = MfaRequired(HttpContext) ? StatusCodes.Status403Forbidden : StatusCodes.Status200OK;
}
