using IdentityServer.Account;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Http;
using IdentityServer.Interaction;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;

namespace IdentityServer.Protocol.Endpoints;

/// <summary>
/// The authorization endpoint (RFC 6749 §3.1, OpenID Connect Core §3.1.2), GET and POST, after OpenIddict validated the request
/// (client, exact <c>redirect_uri</c>, <c>response_type=code</c>, S256 PKCE, scopes, prompt). In order:
/// <list type="number">
/// <item>a request OpenIddict refused: <see cref="AuthorizationErrors"/> (a page, or the error back to a trusted redirect URI);</item>
/// <item>a POST is answered with 303 to the same request as a GET: the session cookie is SameSite=Lax, so a cross-site POST arrives
/// without it, while the top-level GET that follows carries it;</item>
/// <item>the session (a deleted or locked-out user counts as signed out) and the <see cref="InteractionService"/>'s decision: login
/// page, consent page, an error for the client (OpenIddict sends it with <c>state</c> and <c>iss</c>), or the code: OpenIddict signs in
/// <see cref="EndUserPrincipal"/> and answers with <c>code</c>, <c>state</c> and <c>iss</c> (RFC 9207), by query or form_post.</item>
/// </list>
/// Every answer is <c>Cache-Control: no-store</c>. When a code is issued, the session's client is recorded for back-channel logout.
/// </summary>
public static class AuthorizationEndpoint
{
    /// <summary>Handles one request.</summary>
    public static async Task<IResult> HandleAsync(HttpContext http, InteractionService interaction, AuthorizationErrors errors,
        ClientApplicationManager clients, ActiveUsers users, IdentityServerDbContext db, TimeProvider time, ILoggerFactory loggers)
    {
        OAuthHttp.NoStore(http.Response);
        var request = http.GetOpenIddictServerRequest();
        if (request is null || http.GetOpenIddictServerResponse() is { Error: not null })
        {
            await errors.RespondAsync(http, request, http.GetOpenIddictServerResponse() ?? new OpenIddictResponse { Error = OpenIddictConstants.Errors.InvalidRequest });
            return Results.Empty;
        }
        if (HttpMethods.IsPost(http.Request.Method))
        {
            http.Response.Headers.Location = InteractionService.ReturnUrl(request);
            return Results.StatusCode(StatusCodes.Status303SeeOther);
        }

        var ct = http.RequestAborted;
        if (await clients.FindByClientIdAsync(request.ClientId!, ct) is not { } application)
        {
            // Disabled or removed since OpenIddict validated the request: the same page as for an unknown client.
            await errors.RespondAsync(http, request, new OpenIddictResponse { Error = OpenIddictConstants.Errors.InvalidRequest, ErrorDescription = AuthorizationErrors.UnknownClient });
            return Results.Empty;
        }
        var client = await clients.GetProfileAsync(application, ct);
        var session = SessionClaims.FromPrincipal(http.User);
        if (session is not null && await users.FindActiveAsync(session.SubjectId, ct) is null) session = null;

        var decision = await interaction.DecideAsync(request, client, session, ct);
        switch (decision.Kind)
        {
            case InteractionKind.Login:
                return Results.Redirect(interaction.LoginUrl(request));
            case InteractionKind.Consent:
                return Results.Redirect(interaction.ConsentUrl(request));
            case InteractionKind.Error:
                loggers.CreateLogger("IdentityServer.Authorize").LogInformation("Authorization request of {ClientId} answered {Error}", client.ClientId, decision.Error!.Error);
                return Results.Forbid(new AuthenticationProperties(new Dictionary<string, string?>
                {
                    [OpenIddictServerAspNetCoreConstants.Properties.Error] = decision.Error.Error,
                    [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = decision.Error.Description,
                }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
            default:
                if (session!.SessionId is { } sid) await RecordSessionClientAsync(db, sid, client.ClientId, session.SubjectId, time.GetUtcNow(), ct);
                loggers.CreateLogger("IdentityServer.Authorize").LogInformation("Authorization code issued to {ClientId} for {SubjectId}", client.ClientId, session.SubjectId);
                return Results.SignIn(EndUserPrincipal.Create(session, request.GetScopes(), withSessionId: true), null,
                    OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        }
    }

    /// <summary>
    /// Remembers that session <paramref name="sid"/> signed in to <paramref name="clientId"/>, for back-channel logout; a later sign-in of
    /// the same pair moves <see cref="SessionClientEntity.SignedInAt"/> on, so the record lasts as long as the session keeps using it.
    /// </summary>
    private static async Task RecordSessionClientAsync(IdentityServerDbContext db, string sid, string clientId, string subjectId, DateTimeOffset now, CancellationToken ct)
    {
        if (await db.SessionClients.Where(s => s.SessionId == sid && s.ClientId == clientId)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.SignedInAt, now), ct) == 1) return;
        var entry = db.SessionClients.Add(new SessionClientEntity { SessionId = sid, ClientId = clientId, SubjectId = subjectId, SignedInAt = now });
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException) { /* recorded by a parallel request */ }
        finally { entry.State = EntityState.Detached; }
    }
}
