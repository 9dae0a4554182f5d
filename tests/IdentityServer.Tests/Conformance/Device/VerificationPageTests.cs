using System.Net;
using AngleSharp.Html.Parser;
using IdentityServer.Protocol.Clients;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>RFC 8628 §3.3, §5.4: the verification page a person uses to enter, check and approve a user code.</summary>
public sealed class VerificationPageTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly DeviceDriver _d = new(factory);

    [Fact]
    public async Task CompleteUri_OnlyFillsTheCodeIn_NothingIsApprovedUntilTheConfirmationScreen()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        await new OidcDriver(browser).LoginAsync();

        var page = await browser.GetAsync(new Uri(start.Str("verification_uri_complete")).PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var input = new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync()).QuerySelector("input[name=user_code]")!;
        Assert.Equal(start.Str("user_code"), input.GetAttribute("value"));
        Assert.Equal("off", input.GetAttribute("autocomplete"));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "authorization_pending");

        // Continue leads to the confirmation screen, still no decision.
        var confirmation = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        await Json.ErrorAsync(await _d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "authorization_pending");
        Assert.Contains("Approve", confirmation.Html);
    }

    [Fact]
    public async Task ConfirmationScreen_ShowsClientNameScopesAndCode()
    {
        var start = await _d.StartAsync(scope: "openid offline_access api1");
        var page = await DeviceDriver.OpenConfirmationAsync(factory.CreateBrowser(), start.Str("user_code"));
        var doc = new HtmlParser().ParseDocument(page.Html);
        Assert.Contains("Test device-cli", doc.QuerySelector("h1")!.TextContent);
        Assert.Equal(start.Str("user_code"), doc.QuerySelector("#user-code")!.TextContent.Trim());
        var scopes = doc.QuerySelectorAll("ul.scopes li").Select(li => li.TextContent.Trim()).ToArray();
        Assert.Equal(["Sign you in (your user identifier)", "Stay signed in: access while you are away", "Test API"], scopes);
    }

    [Theory]
    [InlineData("lower")]
    [InlineData("spaces")]
    [InlineData("bare")]
    public async Task CodeEntry_IgnoresCaseDashesAndSpaces(string variant)
    {
        var start = await _d.StartAsync();
        var code = start.Str("user_code");
        var typed = variant switch
        {
            "lower" => code.ToLowerInvariant(),
            "spaces" => " " + code.Replace("-", " ") + " ",
            _ => code.Replace("-", ""),
        };
        var page = await DeviceDriver.OpenConfirmationAsync(factory.CreateBrowser(), typed);
        Assert.Equal(code, new HtmlParser().ParseDocument(page.Html).QuerySelector("#user-code")!.TextContent.Trim());
    }

    [Fact]
    public async Task UnknownCode_FormAgainWithAnError_LoggedWithoutTheCode()
    {
        var browser = factory.CreateBrowser();
        var r = await DeviceDriver.EnterCodeAsync(browser, "BCDF-GHJK");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var doc = new HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync());
        Assert.Contains("not valid", doc.QuerySelector("[role=alert]")!.TextContent);
        Assert.NotNull(doc.QuerySelector("input[name=user_code]"));

        var failures = factory.Logs.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("User code entry failed")).ToArray();
        Assert.NotEmpty(failures);
        Assert.DoesNotContain(factory.Logs.Entries, e => e.Message.Contains("BCDF") || e.Message.Contains("GHJK"));
    }

    [Fact]
    public async Task ApprovedCode_EnteredAgain_AlreadyUsed()
    {
        var start = await _d.StartAsync();
        await _d.ApproveAsync(start.Str("user_code"));
        var r = await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), start.Str("user_code"));
        Assert.Equal("This code has already been used", DeviceDriver.Heading(await r.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task DoubleApprove_DecidesOnce()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        var results = await Task.WhenAll(DeviceDriver.DecideAsync(browser, page, "approve"), DeviceDriver.DecideAsync(browser, page, "approve"));
        Assert.Equal(["Device approved", "This code has already been used"], results.Select(DeviceDriver.Heading).Order());
        await Json.OkAsync(await _d.PollAsync(start.Str("device_code")));
    }

    [Fact]
    public async Task ConfirmationWithoutValidTicket_ExplainsAndOffersCodeEntry()
    {
        var browser = factory.CreateBrowser();
        await new OidcDriver(browser).LoginAsync();
        foreach (var url in new[] { "/device/confirm", "/device/confirm?ticket=forged" })
        {
            var r = await browser.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var html = await r.Content.ReadAsStringAsync();
            Assert.Equal("This link is not valid any more", DeviceDriver.Heading(html));
            Assert.Contains("href=\"/device\"", html);
        }
    }

    [Fact]
    public async Task ConfirmationTicket_ExpiresAfterFifteenMinutes()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        factory.Clock.Advance(TimeSpan.FromMinutes(16));
        Assert.Equal("This link is not valid any more", DeviceDriver.Heading(await DeviceDriver.DecideAsync(browser, page, "approve")));
    }

    [Fact]
    public async Task SignedOut_ConfirmationRequiresSignIn()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var entered = await DeviceDriver.EnterCodeAsync(browser, start.Str("user_code"));
        var confirm = await browser.GetAsync(entered.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.Redirect, confirm.StatusCode);
        Assert.Equal("/account/login", new Uri(new Uri(IdentityServerFactory.Issuer), confirm.Headers.Location!).AbsolutePath);
    }

    [Fact]
    public async Task DeniedCode_EnteredAgain_SaysDenied()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        await DeviceDriver.DecideAsync(browser, await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code")), "deny");
        var r = await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), start.Str("user_code"));
        Assert.Equal("Request denied", DeviceDriver.Heading(await r.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task ClientDisabledAfterTheCodeWasIssued_SaysTheApplicationIsNotAvailable()
    {
        var start = await _d.StartAsync(IdentityServerFactory.DeviceTvClient, IdentityServerFactory.DeviceTvSecret, "openid");
        await SetEnabledAsync(IdentityServerFactory.DeviceTvClient, false);
        try
        {
            var r = await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), start.Str("user_code"));
            Assert.Equal("This application is not available", DeviceDriver.Heading(await r.Content.ReadAsStringAsync()));
        }
        finally
        {
            await SetEnabledAsync(IdentityServerFactory.DeviceTvClient, true);
        }
    }

    [Fact]
    public async Task ApprovalsAndDenialsRacing_OneDecides_AndThePollAgrees()
    {
        var start = await _d.StartAsync();
        var browser = factory.CreateBrowser();
        var page = await DeviceDriver.OpenConfirmationAsync(browser, start.Str("user_code"));
        var headings = (await Task.WhenAll(Enumerable.Range(0, 10).Select(i => DeviceDriver.DecideAsync(browser, page, i % 2 == 0 ? "approve" : "deny"))))
            .Select(DeviceDriver.Heading).ToList();

        var approved = headings.Count(h => h == "Device approved");
        Assert.InRange(approved, 0, 1);
        Assert.All(headings, h => Assert.Contains(h, new[] { "Device approved", "Request denied", "This code has already been used" }));
        var poll = await _d.PollAsync(start.Str("device_code"));
        if (approved == 1) await Json.OkAsync(poll);
        else await Json.ErrorAsync(poll, HttpStatusCode.BadRequest, "access_denied");
    }

    private async Task SetEnabledAsync(string clientId, bool enabled)
    {
        using var scope = factory.Services.CreateScope();
        var clients = scope.ServiceProvider.GetRequiredService<ClientApplicationManager>();
        var application = await clients.FindAnyByClientIdAsync(clientId);
        Assert.NotNull(application);
        await clients.UpdateAsync(application, await clients.GetProfileAsync(application) with { Enabled = enabled });
    }
}
