using System.Net;
using IdentityServer.Data;
using IdentityServer.Maintenance;
using IdentityServer.Options;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using OpenIddict.EntityFrameworkCore.Models;

namespace IdentityServer.Tests.Conformance.Lifecycle;

/// <summary>
/// A server whose cleanup job only runs when a test calls it, with no retention. Its clock starts 31 days and an hour before the
/// real time: OpenIddict's pruning judges a token's expiry by the real clock, so after the test moves the server's clock forward by
/// 31 days, what was issued before has expired by both clocks and what is issued then has not.
/// </summary>
public sealed class ManualCleanupFactory : IdentityServerFactory
{
    public ManualCleanupFactory()
    {
        Clock = new MutableTimeProvider(-(TimeSpan.FromDays(31) + TimeSpan.FromHours(1)));
        Settings["IdentityServer:Cleanup:Enabled"] = "false";
        Settings["IdentityServer:Cleanup:RetentionSeconds"] = "0";
        Settings["IdentityServer:Cleanup:BatchSize"] = "2"; // several batches even for a handful of rows
    }
}

/// <summary>The cleanup job removes expired and revoked artefacts, in batches, once per interval across nodes, and nothing else.</summary>
public sealed class CleanupTests(ManualCleanupFactory factory) : IClassFixture<ManualCleanupFactory>
{
    private async Task<T> DbAsync<T>(Func<IdentityServerDbContext, Task<T>> query)
    {
        using var scope = factory.Services.CreateScope();
        return await query(scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>());
    }

    private static Task<int> TokenRows(IdentityServerDbContext db) => db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync();

    private static Task<int> AuthorizationRows(IdentityServerDbContext db) => db.Set<OpenIddictEntityFrameworkCoreAuthorization>().CountAsync();

    private async Task RevokeAsync(OidcDriver d, string refreshToken) =>
        Assert.Equal(HttpStatusCode.OK, (await d.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/connect/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = refreshToken, ["client_id"] = IdentityServerFactory.WebClient, ["client_secret"] = IdentityServerFactory.WebSecret,
            }),
        })).StatusCode);

    [Fact]
    public async Task RemovesWhatExpiredOrWasRevoked_KeepsWhatIsLive_OncePerInterval()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var old = await d.SignInAndGetTokensAsync();
        var revoked = await d.SignInAndGetTokensAsync();
        await new DeviceDriver(factory).StartAsync();
        await Json.OkAsync(await d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = IdentityServerFactory.ApiScope },
            IdentityServerFactory.ServiceClient, IdentityServerFactory.ServiceSecret));
        await RevokeAsync(d, revoked.Str("refresh_token"));
        var oldSessionRows = await DbAsync(db => db.SessionClients.CountAsync());
        Assert.True(oldSessionRows >= 1);

        // Everything above outlives its lifetime (the refresh tokens' sliding 14 days); then a fresh sign-in that must survive.
        factory.Clock.Advance(TimeSpan.FromDays(31));
        var fresh = await new OidcDriver(factory.CreateBrowser()).SignInAndGetTokensAsync();

        var cleanup = factory.Services.GetRequiredService<Cleanup>();
        var report = await cleanup.TryRunAsync();
        Assert.NotNull(report);
        // Tokens: the two old sign-ins' codes and refresh tokens (one family revoked), the device and user codes, all expired for longer
        // than an access token lives (a day); access and ID tokens and client credentials have no rows. The fresh sign-in's code stays
        // until then. Authorizations: the revoked one, and the old sign-in's and the device request's, now without rows.
        Assert.Equal(new CleanupReport(Tokens: 6, Authorizations: 3, Challenges: 0, SigningKeys: 0, RevokedAccessTokens: 0, DevicePolls: 0,
            SessionClients: oldSessionRows, ClientAuthenticationFailures: 0), report);

        // Only the fresh family is left (its code and refresh token), and it still works.
        Assert.Equal(2, await DbAsync(TokenRows));
        Assert.Equal(1, await DbAsync(AuthorizationRows));
        Assert.Equal(1, await DbAsync(db => db.SessionClients.CountAsync()));
        var refreshedFresh = await Json.OkAsync(await new OidcDriver(factory.CreateBrowser()).RefreshAsync(fresh.Str("refresh_token")));
        await Json.ErrorAsync(await d.RefreshAsync(old.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");

        // Within the interval, neither this node nor another one runs again.
        Assert.Null(await cleanup.TryRunAsync());
        var otherNode = new Cleanup(factory.Services.GetRequiredService<IServiceScopeFactory>(), factory.Services.GetRequiredService<IdentityServerOptions>(),
            factory.Clock, NullLogger<Cleanup>.Instance);
        Assert.Null(await otherNode.TryRunAsync());

        // Next interval, on the other node: a revoked family goes although it has not expired; live ones stay.
        var revokedLater = await new OidcDriver(factory.CreateBrowser()).SignInAndGetTokensAsync();
        await RevokeAsync(d, revokedLater.Str("refresh_token"));
        var authorizations = await DbAsync(AuthorizationRows);
        factory.Clock.Advance(TimeSpan.FromHours(1));
        var second = await otherNode.TryRunAsync();
        Assert.NotNull(second);
        // The revoked family's code and refresh token, and its authorization. The fresh family's code and rotated refresh token stay
        // until they expired a day ago, so that presenting them again is still recognised as reuse.
        Assert.Equal(2, second.Tokens);
        Assert.Equal(1, second.Authorizations);
        Assert.Equal(authorizations - 1, await DbAsync(AuthorizationRows));
        Assert.Equal(3, await DbAsync(TokenRows));
        await Json.ErrorAsync(await d.RefreshAsync(fresh.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.Unauthorized, (await d.UserInfoAsync(refreshedFresh.Str("access_token"))).StatusCode);
    }
}

/// <summary>Cleanup never takes away what a live access token is checked against.</summary>
public sealed class CleanupKeepsLiveAccessTokensTests
{
    [Fact]
    public async Task SignInWithoutRefreshToken_ItsSpentCodeStaysWhileAnAccessTokenMayLive_ThenBothGo()
    {
        using var factory = new ManualCleanupFactory();
        var d = new OidcDriver(factory.CreateBrowser());
        var tokens = await d.SignInAndGetTokensAsync("openid profile"); // a code, no refresh token: the sign-in's only row is the code
        factory.Clock.Advance(TimeSpan.FromMinutes(5));

        var cleanup = factory.Services.GetRequiredService<Cleanup>();
        var report = await cleanup.TryRunAsync();
        Assert.NotNull(report);
        Assert.Equal(0, report.Tokens);
        Assert.Equal(0, report.Authorizations);
        await Json.OkAsync(await d.UserInfoAsync(tokens.Str("access_token")));

        // Once the code expired longer ago than any access token lives, the code and the sign-in go.
        factory.Clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(5));
        report = await cleanup.TryRunAsync();
        Assert.NotNull(report);
        Assert.Equal(1, report.Tokens);
        Assert.Equal(1, report.Authorizations);
    }
}
