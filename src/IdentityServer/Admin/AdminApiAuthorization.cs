using IdentityServer.Data.Entities;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore.Identity;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Admin;

/// <summary>
/// Guards every admin API route. The caller presents an access token issued by this server (RFC 6750 §2.1 Bearer header):
/// <list type="number">
/// <item>no token, or one that is not valid for this issuer as audience (signature, <c>typ</c>, expiry, revocation; see
/// <see cref="AccessTokenValidation"/>) → 401 with <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3): the caller is not authenticated</item>
/// <item>a valid token without the <c>idp.admin</c> scope → 403 <c>insufficient_scope</c></item>
/// <item>the client that obtained the token is gone or disabled → 401 (its tokens are no longer valid anywhere); it no longer holds
/// <c>idp.admin</c> → 403</item>
/// <item>an end-user's token (it has <c>auth_time</c>) whose account is gone, locked out or lacks role <c>admin</c>, or, where the
/// admin UI demands it (<see cref="Options.AdminOptions.RequireMfa"/>), whose <c>amr</c> lacks <c>mfa</c> → 403; a
/// client-credentials token acts as that client</item>
/// </list>
/// 401s and 403s are logged as what they are. The caller becomes the <see cref="AdminActor"/> of the audit log.
/// </summary>
public sealed class AdminApiAuthorization(AccessTokenValidation validation, UserManager<ApplicationUser> users, ClientApplicationManager clients,
    ILogger<AdminApiAuthorization> logger) : IEndpointFilter
{
    /// <summary>The role an end-user needs.</summary>
    public const string AdminRole = "admin";

    private const string ActorKey = "idsrv.admin.actor";

    /// <summary>True when <paramref name="user"/> exists, is not locked out and has role <see cref="AdminRole"/>: the test every admin request passes, UI and API alike.</summary>
    public static async Task<bool> IsActiveAdminAsync(UserManager<ApplicationUser> users, ApplicationUser? user) =>
        user is not null && !await users.IsLockedOutAsync(user) && await users.IsInRoleAsync(user, AdminRole);

    /// <summary>The authenticated caller of this request (set by the filter).</summary>
    public static AdminActor Actor(HttpContext http) => (AdminActor)http.Items[ActorKey]!;

    /// <inheritdoc />
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length <= 7)
        {
            logger.LogWarning("Admin API authentication failed: no bearer token ({Method} {Path})", http.Request.Method, http.Request.Path);
            return Unauthenticated(http, null, "A bearer access token with the idp.admin scope is required.");
        }
        var (principal, problem) = await validation.ValidateAsync(header[7..].Trim(), http.RequestAborted);
        if (principal is null)
        {
            logger.LogWarning("Admin API authentication failed: {Reason}", problem);
            return Unauthenticated(http, Errors.InvalidToken, "The access token is invalid.");
        }
        var subject = principal.GetClaim(Claims.Subject);
        if (!principal.HasScope(Protocol.Scopes.Admin))
        {
            logger.LogWarning("Admin API authorization failed for {Subject}: token without the idp.admin scope", subject);
            http.Response.Headers.WWWAuthenticate = $"Bearer realm=\"IdentityServer\", error=\"insufficient_scope\", scope=\"{Protocol.Scopes.Admin}\"";
            return AdminProblems.Forbidden("The access token lacks the idp.admin scope.");
        }

        // The client must still exist, be enabled and hold idp.admin: removing the scope or the client ends its power at once.
        var clientId = principal.GetClaim(Claims.ClientId);
        var client = clientId is null ? null : await clients.FindProfileAsync(clientId, http.RequestAborted);
        if (client is null || !client.Enabled || !client.Scopes.Contains(Protocol.Scopes.Admin))
        {
            logger.LogWarning("Admin API authorization failed: client {ClientId} is gone, disabled or no longer has idp.admin", clientId);
            return AdminProblems.Forbidden("The client that obtained this token may no longer administer.");
        }

        // An end-user's token carries auth_time (OpenID Connect Core §2); a client-credentials token has none and its sub is the client.
        AdminActor actor;
        if (!principal.HasClaim(Claims.AuthenticationTime) && subject == clientId) actor = new AdminActor("client", clientId);
        else
        {
            var user = subject is null ? null : await users.FindByIdAsync(subject);
            if (!await IsActiveAdminAsync(users, user))
            {
                logger.LogWarning("Admin API authorization failed for {Subject}: not an active admin", subject);
                return AdminProblems.Forbidden("The signed-in user is not an administrator.");
            }
            if (Pages.Admin.AdminPageModel.MfaRequired(http) && !principal.GetClaims(Claims.AuthenticationMethodReference).Contains(ProtocolNames.Mfa))
            {
                logger.LogWarning("Admin API authorization failed for {Subject}: signed in without a second factor", subject);
                return AdminProblems.Forbidden("Administration requires a sign-in with a second factor or a passkey.");
            }
            actor = new AdminActor("user", user!.Id);
        }
        http.Items[ActorKey] = actor;
        return await next(context);
    }

    private static IResult Unauthenticated(HttpContext http, string? error, string detail)
    {
        // RFC 6750 §3.1: with no token at all, the challenge carries no error code.
        http.Response.Headers.WWWAuthenticate = error is null
            ? "Bearer realm=\"IdentityServer\", scope=\"idp.admin\""
            : $"Bearer realm=\"IdentityServer\", error=\"{error}\", error_description=\"{detail}\"";
        return AdminProblems.Create(StatusCodes.Status401Unauthorized, "Unauthorized", detail);
    }
}
