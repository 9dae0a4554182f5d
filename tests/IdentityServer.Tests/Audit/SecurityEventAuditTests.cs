using System.Net;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Audit;

/// <summary>Security events reach the audit log (table AuditEvents) with who, what and why, and never a secret.</summary>
public sealed class SecurityEventAuditTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly AccountDriver _a = new(factory);

    private async Task<List<AuditEventEntity>> EventsAsync(Func<AuditEventEntity, bool>? filter = null)
    {
        using var scope = factory.Services.CreateScope();
        var all = await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().AuditEvents.AsNoTracking().OrderBy(e => e.Id).ToListAsync();
        return filter is null ? all : all.Where(filter).ToList();
    }

    private Task<string> UserIdAsync(string name) => _a.WithUserAsync(name, (_, user) => Task.FromResult(user.Id));

    [Fact]
    public async Task SignIns_SucceededAndFailedWithReasons_ThenLockout()
    {
        var name = await _a.CreateUserAsync("audit");
        var id = await UserIdAsync(name);
        await _a.PasswordStepAsync(name, expectSecondStep: false);
        Assert.Single(await EventsAsync(e => e.Event == "signin.succeeded" && e.ActorId == id && e.SubjectId == id && e.Reason == "pwd" && e.ActorType == "user"));

        var browser = new OidcDriver(factory.CreateBrowser());
        for (var i = 0; i < 5; i++) await browser.SubmitLoginAsync(name, "wrong-password-123");
        Assert.Equal(5, (await EventsAsync(e => e.Event == "signin.failed" && e.SubjectId == id && e.Reason == "wrong password")).Count);
        Assert.Single(await EventsAsync(e => e.Event == "user.locked_out" && e.SubjectId == id));

        await browser.SubmitLoginAsync("nobody-" + Guid.NewGuid().ToString("N")[..8], "whatever-password");
        Assert.NotEmpty(await EventsAsync(e => e.Event == "signin.failed" && e.ActorType == "anonymous" && e.Reason == "unknown user"));
    }

    [Fact]
    public async Task TwoStepChanges_AndSecondFactorSignIn_AreRecorded_WithoutCodes()
    {
        var name = await _a.CreateUserAsync("audit");
        var id = await UserIdAsync(name);
        var browser = await _a.PasswordStepAsync(name, expectSecondStep: false);
        var (key, recovery) = await _a.EnableTotpAsync(browser);

        var second = await _a.PasswordStepAsync(name, expectSecondStep: true);
        await AccountDriver.SecondStepAsync(second, "000000" == _a.CodeNow(key) ? "111111" : "000000");
        Assert.Equal(HttpStatusCode.Redirect, (await AccountDriver.SecondStepAsync(second, _a.CodeNow(key))).StatusCode);
        await AccountDriver.SubmitAsync(second, "/account/two-factor", new() { ["Password"] = AccountDriver.Password }, "/account/two-factor?handler=Disable");

        var events = await EventsAsync(e => e.SubjectId == id);
        Assert.Equal(["signin.succeeded", "mfa.totp_enabled", "signin.failed", "signin.succeeded", "mfa.totp_disabled"],
            events.Select(e => e.Event).ToArray());
        Assert.Equal("wrong TOTP code", events[2].Reason);
        Assert.Equal("pwd+otp", events[3].Reason);

        var everything = string.Join("\n", (await EventsAsync()).Select(e => $"{e.Reason} {e.Before} {e.After} {e.ActorId} {e.SubjectId}"));
        Assert.DoesNotContain(key, everything, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(AccountDriver.Password, everything);
        foreach (var code in recovery) Assert.DoesNotContain(code, everything);
    }

    [Fact]
    public async Task RefreshTokenReuse_IsRecordedAgainstTheClientAndGrant()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var tokens = await d.SignInAndGetTokensAsync();
        var first = tokens.Str("refresh_token");
        await Json.OkAsync(await d.RefreshAsync(first));
        await d.RefreshAsync(first);

        var reuse = Assert.Single(await EventsAsync(e => e.Event == "token.reuse_detected"));
        Assert.Equal("client", reuse.ActorType);
        Assert.Equal(IdentityServerFactory.WebClient, reuse.ActorId);
        Assert.Equal("grant", reuse.SubjectType);
        Assert.Contains("refresh_token", reuse.Reason);
        Assert.DoesNotContain(first, reuse.Reason + reuse.SubjectId);
    }
}
