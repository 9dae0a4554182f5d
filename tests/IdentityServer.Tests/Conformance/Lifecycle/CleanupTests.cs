using System.Net;
using IdentityServer.Data;
using IdentityServer.Maintenance;
using IdentityServer.Protocol.Options;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace IdentityServer.Tests.Conformance.Lifecycle;

/// <summary>A server whose cleanup job only runs when a test calls it, with no retention.</summary>
public sealed class ManualCleanupFactory : IdentityServerFactory
{
    public ManualCleanupFactory()
    {
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

    [Fact]
    public async Task RemovesWhatExpiredOrWasRevoked_KeepsWhatIsLive_OncePerInterval()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var old = await d.SignInAndGetTokensAsync();
        var revoked = await d.SignInAndGetTokensAsync();
        await new DeviceDriver(factory).StartAsync();
        await Json.OkAsync(await d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["scope"] = IdentityServerFactory.ApiScope },
            IdentityServerFactory.ServiceClient, IdentityServerFactory.ServiceSecret));
        var revocation = new HttpRequestMessage(HttpMethod.Post, "/connect/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = revoked.Str("refresh_token"), ["client_id"] = IdentityServerFactory.WebClient, ["client_secret"] = IdentityServerFactory.WebSecret }),
        };
        Assert.Equal(HttpStatusCode.OK, (await d.Http.SendAsync(revocation)).StatusCode);

        // Everything above outlives its absolute lifetime (30 days); then a fresh sign-in that must survive.
        factory.Clock.Advance(TimeSpan.FromDays(31));
        var fresh = await new OidcDriver(factory.CreateBrowser()).SignInAndGetTokensAsync();
        var grantsBefore = await DbAsync(db => db.Grants.CountAsync());

        var cleanup = factory.Services.GetRequiredService<Cleanup>();
        var report = await cleanup.TryRunAsync();
        Assert.NotNull(report);
        // Two code flows (codes, refresh tokens, access tokens, grants; one grant revoked), a device code, a client-credentials token.
        Assert.Equal(new CleanupReport(AuthorizationCodes: 2, DeviceCodes: 1, RefreshTokens: 2, AccessTokens: 3, Grants: 2, Challenges: 0), report);
        Assert.Equal(grantsBefore - 2, await DbAsync(db => db.Grants.CountAsync()));

        // Only the fresh family is left, and it still works.
        Assert.Equal(1, await DbAsync(db => db.RefreshTokens.CountAsync()));
        Assert.Equal(0, await DbAsync(db => db.DeviceCodes.CountAsync()));
        await Json.OkAsync(await new OidcDriver(factory.CreateBrowser()).RefreshAsync(fresh.Str("refresh_token")));
        await Json.ErrorAsync(await d.RefreshAsync(old.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");

        // Within the interval, neither this node nor another one runs again.
        Assert.Null(await cleanup.TryRunAsync());
        var otherNode = new Cleanup(factory.Services.GetRequiredService<IServiceScopeFactory>(), factory.Services.GetRequiredService<IdentityServerOptions>(),
            factory.Clock, NullLogger<Cleanup>.Instance);
        Assert.Null(await otherNode.TryRunAsync());

        // Next interval, on the other node: a revoked family goes although it has not expired; live ones stay.
        var revokedLater = await new OidcDriver(factory.CreateBrowser()).SignInAndGetTokensAsync();
        Assert.Equal(HttpStatusCode.OK, (await d.Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/connect/revocation")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = revokedLater.Str("refresh_token"), ["client_id"] = IdentityServerFactory.WebClient, ["client_secret"] = IdentityServerFactory.WebSecret }),
        })).StatusCode);
        var grants = await DbAsync(db => db.Grants.CountAsync());
        factory.Clock.Advance(TimeSpan.FromHours(1));
        var second = await otherNode.TryRunAsync();
        Assert.NotNull(second);
        Assert.Equal(1, second.Grants);
        Assert.Equal(grants - 1, await DbAsync(db => db.Grants.CountAsync()));
    }
}
