using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Tokens;
using Microsoft.AspNetCore.Identity;

namespace IdentityServer.Admin;

/// <summary>
/// Guards every admin API route. The caller presents an access token issued by this server (RFC 6750 §2.1 Bearer header):
/// <list type="number">
/// <item>no token, or one that is not valid for this issuer as audience (signature, <c>typ</c>, expiry, revocation; see
/// <see cref="AccessTokenValidator"/>) → 401 with <c>WWW-Authenticate: Bearer</c> (RFC 6750 §3): the caller is not authenticated</item>
/// <item>a valid token without the <c>idp.admin</c> scope → 403 <c>insufficient_scope</c></item>
/// <item>a token of an end-user (its <c>sub</c> is not its <c>client_id</c>) whose account is gone, locked out or lacks role
/// <c>admin</c> → 403; a client-credentials token with <c>idp.admin</c> acts as that client</item>
/// </list>
/// 401s and 403s are logged as what they are. The caller becomes the <see cref="AdminActor"/> of the audit log.
/// </summary>
public sealed class AdminApiAuthorization(AccessTokenValidator validator, UserManager<ApplicationUser> users, ILogger<AdminApiAuthorization> logger) : IEndpointFilter
{
    /// <summary>The role an end-user needs.</summary>
    public const string AdminRole = "admin";

    private const string ActorKey = "idsrv.admin.actor";

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
        var validated = await validator.ValidateAsync(header[7..].Trim(), ct: http.RequestAborted);
        if (!validated.Succeeded)
        {
            logger.LogWarning("Admin API authentication failed: {Reason}", validated.Error.Description);
            return Unauthenticated(http, "invalid_token", validated.Error.SafeDescription!);
        }
        var jwt = validated.Value;
        var scopes = jwt.TryGetPayloadValue<string>("scope", out var scope) ? Scopes.Parse(scope) : [];
        if (!scopes.Contains(Scopes.Admin))
        {
            logger.LogWarning("Admin API authorization failed for {Subject}: token without the idp.admin scope", jwt.Subject);
            http.Response.Headers.WWWAuthenticate = $"Bearer realm=\"IdentityServer\", error=\"insufficient_scope\", scope=\"{Scopes.Admin}\"";
            return AdminProblems.Forbidden("The access token lacks the idp.admin scope.");
        }

        var clientId = jwt.TryGetPayloadValue<string>("client_id", out var c) ? c : null;
        AdminActor actor;
        if (jwt.Subject == clientId) actor = new AdminActor("client", clientId);
        else
        {
            var user = await users.FindByIdAsync(jwt.Subject);
            if (user is null || await users.IsLockedOutAsync(user) || !await users.IsInRoleAsync(user, AdminRole))
            {
                logger.LogWarning("Admin API authorization failed for {Subject}: not an active admin", jwt.Subject);
                return AdminProblems.Forbidden("The signed-in user is not an administrator.");
            }
            actor = new AdminActor("user", user.Id);
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
