using IdentityServer.Account;
using IdentityServer.Protocol.Endpoints.Authorize;
using IdentityServer.Protocol.Endpoints.Discovery;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Http;

/// <summary>
/// The authorization endpoint, GET and POST (RFC 6749 §3.1, OpenID Connect Core §3.1.2.1). Phases:
/// <list type="number">
/// <item>parse the query or form once (repeated parameter → error page)</item>
/// <item><see cref="AuthorizeRequestValidator"/> (errors before the redirect URI is verified → error page)</item>
/// <item>the current session (a deleted or locked-out user counts as signed out)</item>
/// <item><see cref="AuthorizeInteraction"/>: login page, consent page, or the code</item>
/// </list>
/// </summary>
public static class AuthorizeEndpoint
{
    /// <summary>Handles one request.</summary>
    public static async Task<IResult> HandleAsync(HttpContext http, AuthorizeRequestValidator validator, IConsentStore consents,
        IUserProfileStore users, AuthorizationCodeIssuer codes, IdentityServerOptions options, TimeProvider time, ILoggerFactory loggers)
    {
        var ct = http.RequestAborted;
        var parsed = HttpMethods.IsPost(http.Request.Method)
            ? await HttpParameters.FromFormAsync(http.Request, ct)
            : HttpParameters.FromQuery(http.Request);
        if (!parsed.Succeeded) return AuthorizeResponder.ErrorPage(parsed.Error, null);

        var v = await validator.ValidateAsync(parsed.Value, ct);
        if (v.Error is not null)
        {
            loggers.CreateLogger("IdentityServer.Authorize").LogInformation("Authorization request refused: {Error} {Description}", v.Error.Error, v.Error.Description);
            return v.RedirectUri is null
                ? AuthorizeResponder.ErrorPage(v.Error, v.Client?.DisplayName ?? v.Client?.ClientId)
                : AuthorizeResponder.Error(http, options, v.RedirectUri, v.ResponseMode, v.Error, v.State);
        }
        var request = v.Request!;

        var session = SessionClaims.FromPrincipal(http.User);
        if (session is not null && await users.FindActiveAsync(session.SubjectId, ct) is null) session = null;
        var consented = session is null ? new HashSet<string>() : await consents.GetConsentedScopesAsync(session.SubjectId, request.Client.ClientId, ct);

        var decision = AuthorizeInteraction.Decide(request, session, consented, time.GetUtcNow());
        switch (decision.Kind)
        {
            case InteractionKind.Login:
                // After signing in, come back without prompt=login and max_age, or the request would loop.
                var back = ReturnUrl(parsed.Value, dropPrompt: "login", dropMaxAge: true);
                return Results.Redirect(QueryHelpers.AddQueryString("/account/login", "ReturnUrl", back));
            case InteractionKind.Consent:
                return Results.Redirect(QueryHelpers.AddQueryString("/consent", "ReturnUrl", ReturnUrl(parsed.Value, dropPrompt: "consent", dropMaxAge: false)));
            case InteractionKind.Error:
                return AuthorizeResponder.Error(http, options, request.RedirectUri, request.ResponseMode, decision.Error!, request.State);
            default:
                var code = await codes.IssueAsync(request, session!, ct);
                loggers.CreateLogger("IdentityServer.Authorize").LogInformation("Authorization code issued to {ClientId} for {SubjectId}", request.Client.ClientId, session!.SubjectId);
                return AuthorizeResponder.Code(http, options, request.RedirectUri, request.ResponseMode, code, request.State);
        }
    }

    /// <summary>
    /// A local URL that repeats the authorization request as a GET, with one <c>prompt</c> value removed
    /// (and <c>max_age</c> when asked): where the login and consent pages send the person back.
    /// </summary>
    public static string ReturnUrl(OAuthParameters p, string? dropPrompt, bool dropMaxAge)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (k, val) in p.Values)
        {
            if (k == "max_age" && dropMaxAge) continue;
            if (k == "prompt" && dropPrompt is not null)
            {
                var rest = string.Join(' ', val.Split(' ', StringSplitOptions.RemoveEmptyEntries).Where(x => x != dropPrompt));
                if (rest.Length > 0) values[k] = rest;
                continue;
            }
            values[k] = val;
        }
        return QueryHelpers.AddQueryString(EndpointPaths.Authorize, values);
    }
}
