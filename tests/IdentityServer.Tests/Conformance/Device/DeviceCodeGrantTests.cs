using System.Net;
using System.Text.Json;
using IdentityServer.Data.Entities;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>RFC 8628 §3.4–§3.5: polling the token endpoint with a device code, through approval on the real pages.</summary>
public sealed class DeviceCodeGrantTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly DeviceDriver _d = new(factory);

    /// <summary>Moves the clock past the polling interval so the next poll is on time.</summary>
    private void WaitInterval(int seconds = 5) => factory.Clock.Advance(TimeSpan.FromSeconds(seconds));

    [Fact]
    public async Task Pending_AuthorizationPending()
    {
        var start = await _d.StartAsync();
        var r = await _d.PollAsync(start.Str("device_code"));
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "authorization_pending");
        Assert.Contains("no-store", r.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task Approved_IssuesAccessIdAndRefreshTokens_Once()
    {
        var start = await _d.StartAsync();
        var deviceCode = start.Str("device_code");
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "authorization_pending");

        var done = await _d.ApproveAsync(start.Str("user_code"));
        Assert.Equal("Device approved", DeviceDriver.Heading(done));

        WaitInterval();
        var json = await Json.OkAsync(await _d.PollAsync(deviceCode));
        Assert.Equal("Bearer", json.Str("token_type"));
        Assert.Equal("openid profile offline_access api1", json.Str("scope"));
        Assert.Equal(43, json.Str("refresh_token").Length);

        var keys = await Tokens.JwksAsync(_d.Device);
        var access = await Tokens.ValidateAsync(json.Str("access_token"), keys, "at+jwt");
        Assert.Equal(DeviceClient, access.GetClaim("client_id").Value);
        Assert.Equal(new[] { Issuer, ApiAudience }.Order(), access.Audiences.Order());
        var id = await Tokens.ValidateAsync(json.Str("id_token"), keys, "JWT");
        Assert.Equal(access.Subject, id.Subject);
        Assert.Equal(DeviceClient, id.Audiences.Single());
        Assert.Contains(id.Claims, c => c.Type == "amr" && c.Value == "pwd");
        Assert.DoesNotContain(id.Claims, c => c.Type == "nonce");
        Assert.True(long.TryParse(id.GetClaim("auth_time").Value, out _));

        // Tokens exactly once.
        WaitInterval();
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "invalid_grant");

        // The refresh token works for the device client, and userinfo knows the person.
        var refreshed = await Json.OkAsync(await new OidcDriver(_d.Device).RefreshAsync(json.Str("refresh_token"), DeviceClient, null));
        var userinfo = await Json.OkAsync(await new OidcDriver(_d.Device).UserInfoAsync(refreshed.Str("access_token")));
        Assert.Equal(UserName, userinfo.Str("preferred_username"));
    }

    [Fact]
    public async Task WithoutOfflineAccessOrOpenId_NoRefreshOrIdToken()
    {
        var start = await _d.StartAsync(scope: "api1");
        await _d.ApproveAsync(start.Str("user_code"));
        var json = await Json.OkAsync(await _d.PollAsync(start.Str("device_code")));
        Assert.Equal("api1", json.Str("scope"));
        Assert.False(json.TryGetProperty("refresh_token", out _));
        Assert.False(json.TryGetProperty("id_token", out _));
    }

    [Fact]
    public async Task NoScope_GrantsTheClientsRegisteredScopes()
    {
        var start = await _d.StartAsync(scope: null);
        await _d.ApproveAsync(start.Str("user_code"));
        var json = await Json.OkAsync(await _d.PollAsync(start.Str("device_code")));
        Assert.Equal("openid profile offline_access api1", json.Str("scope"));
    }

    [Fact]
    public async Task PollingFasterThanInterval_SlowDown_AndTheIntervalGrowsByFiveSeconds()
    {
        var deviceCode = (await _d.StartAsync()).Str("device_code");
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "authorization_pending");
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "slow_down");

        // The interval is now 10 s: waiting the original 5 s is still too fast (and raises it to 15 s).
        WaitInterval(6);
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "slow_down");
        WaitInterval(15);
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "authorization_pending");
        // The grown interval stays: 5 s later is too fast again.
        WaitInterval(5);
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "slow_down");
    }

    [Fact]
    public async Task Expired_ExpiredToken_AndThePageSaysSo()
    {
        var start = await _d.StartAsync();
        factory.Clock.Advance(TimeSpan.FromSeconds(601));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "expired_token");

        var entered = await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), start.Str("user_code"));
        Assert.Equal(HttpStatusCode.OK, entered.StatusCode);
        Assert.Equal("This code has expired", DeviceDriver.Heading(await entered.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task ExpiringWhileOnTheConfirmationPage_ApproveSaysExpired_AndNoTokens()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        factory.Clock.Advance(TimeSpan.FromSeconds(601));
        Assert.Equal("This code has expired", DeviceDriver.Heading(await DeviceDriver.DecideAsync(browser, page, "approve")));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "expired_token");
    }

    [Fact]
    public async Task Denied_AccessDenied_AndTheDenialIsFinal()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        Assert.Equal("Request denied", DeviceDriver.Heading(await DeviceDriver.DecideAsync(browser, page, "deny")));

        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "access_denied");
        // Approving afterwards (same ticket, e.g. a second tab) changes nothing.
        Assert.Equal("Request denied", DeviceDriver.Heading(await DeviceDriver.DecideAsync(browser, page, "approve")));
        WaitInterval();
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "access_denied");
    }

    [Fact]
    public async Task TwentyConcurrentPolls_ExactlyOneGetsTokens_No5xx()
    {
        var start = await _d.StartAsync();
        await _d.ApproveAsync(start.Str("user_code"));
        var deviceCode = start.Str("device_code");

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => _d.PollAsync(deviceCode))));
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var error = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Str("error");
            Assert.Contains(error, new[] { "slow_down", "invalid_grant" });
        }
        WaitInterval(30);
        await Json.ErrorAsync(await _d.PollAsync(deviceCode), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task AnotherClientsDeviceCode_InvalidGrant_AndTheOwnerIsUnaffected()
    {
        var start = await _d.StartAsync();
        await _d.ApproveAsync(start.Str("user_code"));
        var deviceCode = start.Str("device_code");

        await Json.ErrorAsync(await _d.PollAsync(deviceCode, DeviceTvClient, DeviceTvSecret), HttpStatusCode.BadRequest, "invalid_grant");
        await Json.OkAsync(await _d.PollAsync(deviceCode));
    }

    [Fact]
    public async Task ClientNotRegisteredForTheGrant_UnauthorizedClient()
    {
        var deviceCode = (await _d.StartAsync()).Str("device_code");
        await Json.ErrorAsync(await _d.PollAsync(deviceCode, ServiceClient, ServiceSecret), HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [Fact]
    public async Task UnknownDeviceCode_InvalidGrant()
    {
        await Json.ErrorAsync(await _d.PollAsync("not-a-device-code"), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public async Task MissingOrEmptyDeviceCode_InvalidRequest(string? deviceCode)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = DeviceDriver.DeviceGrant, ["client_id"] = DeviceClient };
        if (deviceCode is not null) form["device_code"] = deviceCode;
        var r = await _d.Device.PostAsync("/connect/token", new FormUrlEncodedContent(form));
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task UserLockedOutAfterApproval_NoTokens()
    {
        const string name = "device-lockout-user";
        await CreateUserAsync(name);
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"), name, Password);
        await DeviceDriver.DecideAsync(browser, page, "approve");

        await WithUserAsync(name, (users, user) => users.SetLockoutEndDateAsync(user, DateTimeOffset.UtcNow.AddDays(1)));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task UserDeletedAfterApproval_NoTokens()
    {
        const string name = "device-deleted-user";
        await CreateUserAsync(name);
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"), name, Password);
        await DeviceDriver.DecideAsync(browser, page, "approve");

        await WithUserAsync(name, (users, user) => users.DeleteAsync(user));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    private Task CreateUserAsync(string name) => WithServicesAsync(async users =>
        Assert.True((await users.CreateAsync(new ApplicationUser { UserName = name }, Password)).Succeeded));

    private Task WithUserAsync(string name, Func<UserManager<ApplicationUser>, ApplicationUser, Task<IdentityResult>> action) => WithServicesAsync(async users =>
        Assert.True((await action(users, (await users.FindByNameAsync(name))!)).Succeeded));

    private async Task WithServicesAsync(Func<UserManager<ApplicationUser>, Task> action)
    {
        using var scope = factory.Services.CreateScope();
        await action(scope.ServiceProvider.GetRequiredService<UserManager<ApplicationUser>>());
    }
}
