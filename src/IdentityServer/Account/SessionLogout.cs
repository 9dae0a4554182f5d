using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Account;

/// <summary>
/// Ends the server session of the current request and tells the clients that took part in it (OpenID Connect Back-Channel Logout
/// 1.0 §2.5): each client the session signed in to (recorded when the authorization endpoint issued it a code, table
/// <c>SessionClients</c>), still enabled and with a <c>BackChannelLogoutUri</c>, gets a POST of a signed <c>logout_token</c> (with
/// <c>sub</c> and <c>sid</c>). The calls run in parallel, each with a 5-second timeout; a client that fails or does not answer 200 is
/// logged, and the logout goes on (§2.8).
/// </summary>
public sealed class SessionLogout(SignInManager<ApplicationUser> signIn, IdentityServerDbContext db, ClientApplicationManager clients,
    LogoutTokens tokens, IHttpClientFactory http, ILogger<SessionLogout> logger)
{
    /// <summary>Name of the HTTP client used for back-channel calls.</summary>
    public const string HttpClientName = "backchannel-logout";

    /// <summary>Signs the person out (if signed in) and notifies the session's clients; returns how many were notified successfully.</summary>
    public async Task<int> LogoutAsync(HttpContext context)
    {
        var session = SessionClaims.FromPrincipal(context.User);
        if (context.User.Identity?.IsAuthenticated == true)
        {
            await signIn.SignOutAsync();
            context.User = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity());
        }
        if (session?.SessionId is not { } sid) return 0;
        logger.LogInformation("Signed out {SubjectId} (session ended)", session.SubjectId);

        var clientIds = await db.SessionClients.AsNoTracking().Where(s => s.SessionId == sid).Select(s => s.ClientId).ToListAsync(CancellationToken.None);
        var targets = new List<ClientProfile>();
        foreach (var clientId in clientIds)
            if (await clients.FindByClientIdAsync(clientId) is { } application && await clients.GetProfileAsync(application) is { BackChannelLogoutUri: not null } client)
                targets.Add(client);
        await db.SessionClients.Where(s => s.SessionId == sid).ExecuteDeleteAsync(CancellationToken.None);
        var results = await Task.WhenAll(targets.Select(c => NotifyAsync(c, session.SubjectId, sid)));
        return results.Count(ok => ok);
    }

    private async Task<bool> NotifyAsync(ClientProfile client, string subject, string sid)
    {
        var (clientId, uri) = (client.ClientId, client.BackChannelLogoutUri!);
        try
        {
            var token = await tokens.CreateAsync(clientId, subject, sid, client.IdTokenSignedResponseAlg, CancellationToken.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            using var response = await http.CreateClient(HttpClientName).PostAsync(uri,
                new FormUrlEncodedContent(new Dictionary<string, string> { ["logout_token"] = token }), timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                logger.LogInformation("Back-channel logout delivered to {ClientId}", clientId);
                return true;
            }
            logger.LogWarning("Back-channel logout to {ClientId} answered {Status}", clientId, (int)response.StatusCode);
        }
        catch (Exception e)
        {
            // Best effort (§2.8): whatever goes wrong with one client, the logout itself and the other clients go on.
            logger.LogWarning("Back-channel logout to {ClientId} failed: {Reason}", clientId, e.Message);
        }
        return false;
    }
}
