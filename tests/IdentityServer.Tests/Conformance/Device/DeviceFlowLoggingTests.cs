using System.Net;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>A server that logs everything from Information up, in every category (ASP.NET Core and EF Core included).</summary>
public sealed class InformationLogFactory : IdentityServerFactory
{
    public InformationLogFactory() => Settings["Logging:LogLevel:Default"] = "Information";
}

/// <summary>DESIGN: logs record the decisions of the device flow, never a device code, user code or token.</summary>
public sealed class DeviceFlowLoggingTests(InformationLogFactory factory) : IClassFixture<InformationLogFactory>
{
    [Fact]
    public async Task FullFlow_LogsDecisions_NeverCodesOrTokens()
    {
        var d = new DeviceDriver(factory);
        var start = await d.StartAsync();
        await Json.ErrorAsync(await d.PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "authorization_pending");
        await d.ApproveAsync(start.Str("user_code"));
        factory.Clock.Advance(TimeSpan.FromSeconds(5));
        var tokens = await Json.OkAsync(await d.PollAsync(start.Str("device_code")));
        await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), "ZZZZ-ZZZZ");

        var entries = factory.Logs.Entries;
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Message.Contains("approved by"));
        Assert.Contains(entries, e => e.Level == LogLevel.Information && e.Message.Contains("Device code redeemed"));
        Assert.Contains(entries, e => e.Level == LogLevel.Warning && e.Message.Contains("User code entry failed"));

        var secrets = new[]
        {
            start.Str("device_code"), start.Str("user_code"), start.Str("user_code").Replace("-", ""), "ZZZZ-ZZZZ", "ZZZZZZZZ",
            tokens.Str("access_token"), tokens.Str("refresh_token"), tokens.Str("id_token"),
        };
        foreach (var secret in secrets)
            Assert.DoesNotContain(entries, e => e.Message.Contains(secret, StringComparison.OrdinalIgnoreCase));
    }
}
