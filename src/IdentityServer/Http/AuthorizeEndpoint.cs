using IdentityServer.Account;
using IdentityServer.Protocol.Endpoints.Authorize;
using IdentityServer.Protocol.Endpoints.Discovery;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Stores;
using Microsoft.AspNetCore.WebUtilities;

namespace IdentityServer.Http;

/// <summary>
/// The authorization endpoint, GET and POST (RFC 6749 §3.1, OpenID Connect Core §3.1.2.1). Phases:
/// <list type="number">
/// <item>parse the query or form once (repeated parameter → error page)</item>
/// <item>a POST is answered with 303 to the same request as a GET: the session cookie is SameSite=Lax, so a
/// cross-site POST arrives without it, while the top-level GET that follows carries it</item>
/// <item><see cref="AuthorizeRequestValidator"/> (errors before the redirect URI is verified → error page)</item>
/// <item>the current session (a deleted or locked-out user counts as signed out) and its interaction tickets</item>
/// <item><see cref="AuthorizeInteraction"/>: login page, consent page, or the code</item>
/// </list>
/// </summary>
public static class AuthorizeEndpoint
{
    /// <summary>Handles one request.</summary>
    public static async Task<IResult> HandleAsync(HttpContext http, AuthorizeRequestValidator validator, IConsentStore consents,
        IUserProfileStore users, AuthorizationCodeIssuer codes, InteractionTickets tickets, IdentityServerOptions options,
        TimeProvider time, ILoggerFactory loggers)
    {
        var ct = http.RequestAborted;
        var logger = loggers.CreateLogger("IdentityServer.Authorize");
        var isPost = HttpMethods.IsPost(http.Request.Method);
        var parsed = isPost ? await HttpParameters.FromFormAsync(http.Request, ct) : HttpParameters.FromQuery(http.Request);
        if (!parsed.Succeeded) return AuthorizeResponder.ErrorPage(parsed.Error, null);
        var p = parsed.Value;
        if (isPost)
        {
            http.Response.Headers.Location = ReturnUrl(p);
            return Results.StatusCode(StatusCodes.Status303SeeOther);
        }

        var v = await validator.ValidateAsync(p, ct);
        if (v.Error is not null)
        {
            logger.LogInformation("Authorization request refused: {Error} {Description}", v.Error.Error, v.Error.SafeDescription);
            return v.RedirectUri is null
                ? AuthorizeResponder.ErrorPage(v.Error, v.Client?.DisplayName ?? v.Client?.ClientId)
                : AuthorizeResponder.Error(http, options, v.RedirectUri, v.ResponseMode, v.Error, v.State);
        }
        var request = v.Request!;

        var session = SessionClaims.FromPrincipal(http.User);
        if (session is not null && await users.FindActiveAsync(session.SubjectId, ct) is null) session = null;
        var consented = session is null ? new HashSet<string>() : await consents.GetConsentedScopesAsync(session.SubjectId, request.Client.ClientId, ct);
        var reauthenticatedSince = tickets.IssuedAt(p[InteractionTickets.LoginParameter], "login", request.CodeChallenge);
        var consentGiven = session is not null
            && tickets.IssuedAt(p[InteractionTickets.ConsentParameter], "consent", ConsentBinding(request, session.SubjectId)) is not null;

        var decision = AuthorizeInteraction.Decide(request, session, consented, time.GetUtcNow(), reauthenticatedSince, consentGiven);
        switch (decision.Kind)
        {
            case InteractionKind.Login:
                var afterLogin = ReturnUrl(p, (InteractionTickets.LoginParameter, tickets.Issue("login", request.CodeChallenge)));
                return Results.Redirect(QueryHelpers.AddQueryString("/account/login", "ReturnUrl", afterLogin));
            case InteractionKind.Consent:
                return Results.Redirect(QueryHelpers.AddQueryString("/consent", "ReturnUrl", ReturnUrl(p)));
            case InteractionKind.Error:
                return AuthorizeResponder.Error(http, options, request.RedirectUri, request.ResponseMode, decision.Error!, request.State);
            default:
                var code = await codes.IssueAsync(request, session!, ct);
                logger.LogInformation("Authorization code issued to {ClientId} for {SubjectId}", request.Client.ClientId, session!.SubjectId);
                return AuthorizeResponder.Code(http, options, request.RedirectUri, request.ResponseMode, code, request.State);
        }
    }

    /// <summary>What a consent ticket is bound to: this request (its PKCE challenge) and this person.</summary>
    public static string ConsentBinding(AuthorizeRequest request, string subjectId) => request.CodeChallenge + "|" + subjectId;

    /// <summary>
    /// A local URL that repeats the authorization request as a GET, with <paramref name="set"/> added or replaced:
    /// where the login and consent pages send the person back.
    /// </summary>
    public static string ReturnUrl(OAuthParameters p, (string Name, string Value)? set = null)
    {
        var values = new Dictionary<string, string?>(p.Values.ToDictionary(kv => kv.Key, kv => (string?)kv.Value), StringComparer.Ordinal);
        if (set is { } s) values[s.Name] = s.Value;
        return QueryHelpers.AddQueryString(EndpointPaths.Authorize, values);
    }
}
