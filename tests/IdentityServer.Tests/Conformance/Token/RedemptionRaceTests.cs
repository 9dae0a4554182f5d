using System.Data.Common;
using System.Net;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Conformance.Token;

/// <summary>
/// Holds the first update of a token row until a second one arrives, so that two requests presenting the same code or refresh token
/// have both passed validation and race on the row: the race every test with many parallel requests only hopes for.
/// </summary>
public sealed class TokenRowBarrier : DbCommandInterceptor
{
    private int _arrivals;
    private TaskCompletionSource _second = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>While armed, the first token-row update waits (up to 10 s) for the second.</summary>
    public bool Armed
    {
        get => Volatile.Read(ref _armed);
        set
        {
            _arrivals = 0;
            _second = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _armed, value);
        }
    }
    private bool _armed;

    private async Task GateAsync(DbCommand command)
    {
        if (!Armed || !command.CommandText.Contains("UPDATE \"OpenIddictTokens\"", StringComparison.Ordinal)) return;
        if (Interlocked.Increment(ref _arrivals) == 1) await _second.Task.WaitAsync(TimeSpan.FromSeconds(10));
        else _second.TrySetResult();
    }

    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        await GateAsync(command);
        return await base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    public override async ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        await GateAsync(command);
        return await base.NonQueryExecutingAsync(command, eventData, result, cancellationToken);
    }
}

/// <summary>A server whose token-row updates can be made to race (<see cref="TokenRowBarrier"/>).</summary>
public sealed class RaceFactory : IdentityServerFactory
{
    public TokenRowBarrier Barrier { get; } = new();

    public RaceFactory() => ConfigureTestServices = s => s.ConfigureDbContext<IdentityServerDbContext>(o => o.AddInterceptors(Barrier));
}

/// <summary>
/// RFC 6749 §4.1.2 and RFC 9700 §4.14.2 at the moment of redemption: of two requests that validated the same code or refresh token,
/// one gets tokens; the other is reuse, so what the first got is revoked too, and the reuse is audited.
/// </summary>
public sealed class RedemptionRaceTests(RaceFactory factory) : IClassFixture<RaceFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    private async Task<HttpResponseMessage[]> RaceAsync(Func<Task<HttpResponseMessage>> request)
    {
        factory.Barrier.Armed = true;
        try { return await Task.WhenAll(Task.Run(request), Task.Run(request)); }
        finally { factory.Barrier.Armed = false; }
    }

    private async Task AssertOneWinner_WhoseTokensAreRevokedAsync(HttpResponseMessage[] responses)
    {
        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.OK);
        await Json.ErrorAsync(responses.Single(r => r.StatusCode != HttpStatusCode.OK), HttpStatusCode.BadRequest, "invalid_grant");
        var winner = await Json.OkAsync(responses.Single(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(winner.Str("access_token"))).StatusCode);
        await Json.ErrorAsync(await _d.RefreshAsync(winner.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task TwoRedemptionsOfOneCode_PastValidation_OneWins_AndWhatItGotIsRevoked()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        var before = await AuditCountAsync();
        await AssertOneWinner_WhoseTokensAreRevokedAsync(await RaceAsync(() => _d.RedeemCodeAsync(code, verifier)));
        Assert.Equal(before + 1, await AuditCountAsync());
    }

    [Fact]
    public async Task TwoRefreshesWithOneToken_PastValidation_OneWins_AndTheFamilyIsRevoked()
    {
        var first = await _d.SignInAndGetTokensAsync();
        await AssertOneWinner_WhoseTokensAreRevokedAsync(await RaceAsync(() => _d.RefreshAsync(first.Str("refresh_token"))));
    }

    private async Task<int> AuditCountAsync()
    {
        using var scope = factory.Services.CreateScope();
        return await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().AuditEvents.CountAsync(e => e.Event == IdentityServer.Audit.AuditEvents.TokenReuseDetected);
    }
}
