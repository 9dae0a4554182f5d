using System.Net;
using IdentityServer.Admin;
using IdentityServer.Hosting;
using IdentityServer.Options;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IdentityServer.Tests.Conformance.Mfa;

/// <summary>The per-account attempt budget (SignInAttempts) beside Identity's lockout: it refuses racing guesses, not people.</summary>
public class SignInBudgetTests : IDisposable
{
    private readonly IdentityServerFactory _factory = new();
    private readonly AccountDriver _a;

    public SignInBudgetTests() => _a = new AccountDriver(_factory);

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task ATwoStepUser_SigningInManyTimesInTheWindow_IsNotLockedOut()
    {
        var name = await _a.CreateUserAsync("budget");
        var (key, _) = await _a.EnableTotpAsync(await _a.PasswordStepAsync(name, expectSecondStep: false));
        // Each sign-in is a right password and a right code: both give their places back, so eight in a row all get in.
        for (var i = 1; i <= 8; i++)
        {
            _factory.Clock.Advance(TimeSpan.FromSeconds(30)); // a fresh TOTP step each time (each step is accepted once)
            var r = await AccountDriver.SecondStepAsync(await _a.PasswordStepAsync(name, expectSecondStep: true), _a.CodeNow(key));
            Assert.True(r.StatusCode == HttpStatusCode.Redirect, $"sign-in {i}: {(int)r.StatusCode}");
        }
    }

    [Fact]
    public async Task AnAdminUnlock_GivesTheBudgetBack_SoTheRightPasswordWorksAtOnce()
    {
        var name = await _a.CreateUserAsync("unlock");
        for (var i = 0; i < 7; i++)
            Assert.Equal(HttpStatusCode.OK, (await new OidcDriver(_factory.CreateBrowser()).SubmitLoginAsync(name, "wrong-password-1234")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await new OidcDriver(_factory.CreateBrowser()).SubmitLoginAsync(name, AccountDriver.Password)).StatusCode);

        using (var scope = _factory.Services.CreateScope())
            Assert.True((await scope.ServiceProvider.GetRequiredService<UserAdministration>().UnlockAsync(name, AdminActor.CommandLine)).Succeeded);

        Assert.Equal(HttpStatusCode.Redirect, (await new OidcDriver(_factory.CreateBrowser()).SubmitLoginAsync(name, AccountDriver.Password)).StatusCode);
    }

    [Fact]
    public void ABlankMetricsSecret_IsUnset_NotAConfigurationError()
    {
        var validator = new IdentityServerOptionsValidator(new Microsoft.Extensions.Hosting.Internal.HostingEnvironment { EnvironmentName = "Production" });
        var options = new IdentityServerOptions { Issuer = "https://id.example", Metrics = { BearerToken = "" } };
        Assert.True(validator.Validate(null, options).Succeeded);
        options.Metrics.BearerToken = "too-short";
        Assert.True(validator.Validate(null, options).Failed);
    }
}
