using System.Net;
using IdentityServer.Tests.Infrastructure;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Token;

/// <summary>RFC 6749 §6, RFC 9700 §4.14.2: refresh token rotation and reuse detection.</summary>
public sealed class RefreshTokenGrantTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task Refresh_RotatesToken_AndIssuesNewTokens()
    {
        var first = await _d.SignInAndGetTokensAsync();
        var second = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));
        Assert.NotEqual(first.Str("refresh_token"), second.Str("refresh_token"));
        Assert.NotEqual(first.Str("access_token"), second.Str("access_token"));
        Assert.True(second.TryGetProperty("id_token", out _));
        await Json.OkAsync(await _d.UserInfoAsync(second.Str("access_token")));
        await Json.OkAsync(await _d.RefreshAsync(second.Str("refresh_token")));
    }

    [Fact]
    public async Task RotatedTokenReused_InvalidGrant_AndWholeFamilyRevoked()
    {
        var first = await _d.SignInAndGetTokensAsync();
        var second = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));

        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");

        await Json.ErrorAsync(await _d.RefreshAsync(second.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(second.Str("access_token"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(first.Str("access_token"))).StatusCode);
    }

    [Fact]
    public async Task RotatedToken_PresentedByAnotherClient_InvalidGrant_FamilyIntact()
    {
        var first = await _d.SignInAndGetTokensAsync();
        var second = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));
        // The public client spa may use refresh tokens, but this one is not its own.
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token"), PublicClient, null), HttpStatusCode.BadRequest, "invalid_grant");
        await Json.OkAsync(await _d.UserInfoAsync(second.Str("access_token")));
        await Json.OkAsync(await _d.RefreshAsync(second.Str("refresh_token")));
    }

    [Fact]
    public async Task NarrowerScope_NarrowsAccessToken_RefreshKeepsGrant()
    {
        var first = await _d.SignInAndGetTokensAsync();
        var narrow = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token"), scope: "openid profile"));
        Assert.Equal("openid profile", narrow.Str("scope"));
        var full = await Json.OkAsync(await _d.RefreshAsync(narrow.Str("refresh_token")));
        Assert.Equal("openid profile email offline_access api1", full.Str("scope"));
    }

    [Fact]
    public async Task WiderScope_InvalidScope()
    {
        var first = await _d.SignInAndGetTokensAsync("openid offline_access");
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token"), scope: "openid email"), HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Fact]
    public async Task NarrowedToNoResource_InvalidScope()
    {
        var first = await _d.SignInAndGetTokensAsync();
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token"), scope: "offline_access"), HttpStatusCode.BadRequest, "invalid_scope");
        await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token"), scope: "api1"));
    }

    [Fact]
    public async Task TokenOfAnotherClient_InvalidGrant()
    {
        var first = await _d.SignInAndGetTokensAsync();
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token"), OtherClient, OtherSecret), HttpStatusCode.BadRequest, "unauthorized_client");
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token"), PublicClient, null), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task SlidingLifetimeElapsed_InvalidGrant()
    {
        var first = await _d.SignInAndGetTokensAsync();
        factory.Clock.Advance(TimeSpan.FromDays(14) + TimeSpan.FromSeconds(1));
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task WithoutOfflineAccess_NoRefreshToken()
    {
        var json = await _d.SignInAndGetTokensAsync("openid profile");
        Assert.False(json.TryGetProperty("refresh_token", out _));
    }
}

/// <summary>A server configured with a refresh token reuse leeway of 30 seconds (<c>Lifetimes:RefreshTokenReuseLeewaySeconds</c>).</summary>
public sealed class ReuseLeewayFactory : IdentityServerFactory
{
    public ReuseLeewayFactory() => Settings["IdentityServer:Lifetimes:RefreshTokenReuseLeewaySeconds"] = "30";
}

/// <summary>
/// RFC 9700 §4.14.2 with a configured leeway: a client that lost the response of a refresh may present the rotated token again for a
/// few seconds. The default leeway is zero (<see cref="RefreshTokenGrantTests.RotatedTokenReused_InvalidGrant_AndWholeFamilyRevoked"/>).
/// </summary>
public sealed class RefreshTokenReuseLeewayTests(ReuseLeewayFactory factory) : IClassFixture<ReuseLeewayFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task ReuseWithinTheLeeway_GetsTokens_AfterIt_RevokesTheFamily()
    {
        var first = await _d.SignInAndGetTokensAsync();
        var second = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));

        factory.Clock.Advance(TimeSpan.FromSeconds(20));
        var again = await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));
        Assert.NotEqual(second.Str("refresh_token"), again.Str("refresh_token"));
        await Json.OkAsync(await _d.UserInfoAsync(second.Str("access_token")));

        // 31 seconds after the first redemption: reuse, and the whole family goes.
        factory.Clock.Advance(TimeSpan.FromSeconds(11));
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
        await Json.ErrorAsync(await _d.RefreshAsync(again.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(again.Str("access_token"))).StatusCode);
    }
}
