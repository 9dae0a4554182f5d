using System.Net;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>A server whose user-code entry allows 3 attempts per session and 5 per client address in 5 minutes.</summary>
public sealed class RateLimitedFactory : IdentityServerFactory
{
    public RateLimitedFactory()
    {
        Settings["IdentityServer:DeviceFlow:UserCodeAttemptsPerSession"] = "3";
        Settings["IdentityServer:DeviceFlow:UserCodeAttemptsPerAddress"] = "5";
    }
}

/// <summary>RFC 8628 §5.1: guessing user codes is rate-limited per browser session and per client address.</summary>
public sealed class UserCodeRateLimitTests(RateLimitedFactory factory) : IClassFixture<RateLimitedFactory>
{
    [Fact]
    public async Task Attempts_BlockTheSessionThenTheAddress_EvenForAValidCode()
    {
        var start = await new DeviceDriver(factory).StartAsync();
        var validCode = start.Str("user_code");

        // Session A: three wrong codes are answered normally, then even the valid code is refused with 429 (5 minutes).
        var a = factory.CreateBrowser();
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await DeviceDriver.EnterCodeAsync(a, "BCDF-GHJ" + "KLMNP"[i])).StatusCode);
        var blocked = await DeviceDriver.EnterCodeAsync(a, validCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.Equal("300", blocked.Headers.GetValues("Retry-After").Single());
        Assert.Equal("Too many attempts", DeviceDriver.Heading(await blocked.Content.ReadAsStringAsync()));

        // Session B, same address: the address has 2 attempts left (session A's refused attempt did not use one).
        var b = factory.CreateBrowser();
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.OK, (await DeviceDriver.EnterCodeAsync(b, "QRST-VWX" + "ZB"[i])).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await DeviceDriver.EnterCodeAsync(b, validCode)).StatusCode);

        // A fresh session from the same address is blocked too.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await DeviceDriver.EnterCodeAsync(factory.CreateBrowser(), validCode)).StatusCode);

        // Every wrong code and every refusal is in the log; the device authorization itself is untouched.
        Assert.Equal(5, factory.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("User code entry failed")));
        Assert.Equal(3, factory.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("too many attempts")));
        await Json.ErrorAsync(await new DeviceDriver(factory).PollAsync(start.Str("device_code")), HttpStatusCode.BadRequest, "authorization_pending");
    }
}

/// <summary>RFC 8628 §5.1: parallel submissions cannot get more attempts than the limit (each takes its permit before the lookup).</summary>
public sealed class UserCodeRateLimitConcurrencyTests(RateLimitedFactory factory) : IClassFixture<RateLimitedFactory>
{
    [Fact]
    public async Task FortyParallelWrongCodes_OnlyTheSessionLimitIsAnswered()
    {
        var browser = factory.CreateBrowser();
        var page = await browser.GetAsync("/device");
        var token = await OidcDriver.AntiforgeryTokenAsync(page);
        // No device authorization exists on this server, so every random code is wrong.
        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => Task.Run(() => browser.PostAsync("/device",
            new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["user_code"] = RandomCode(), ["__RequestVerificationToken"] = token,
            })))));

        Assert.Equal(3, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(37, responses.Count(r => r.StatusCode == HttpStatusCode.TooManyRequests));
        Assert.Equal(3, factory.Logs.Entries.Count(e => e.Message.Contains("User code entry failed")));
    }

    /// <summary>A well-formed user code drawn at random from the alphabet.</summary>
    private static string RandomCode() =>
        string.Concat(Enumerable.Range(0, IdentityServer.Protocol.UserCode.Length).Select(_ => IdentityServer.Protocol.UserCode.Alphabet[Random.Shared.Next(IdentityServer.Protocol.UserCode.Alphabet.Length)]));
}
