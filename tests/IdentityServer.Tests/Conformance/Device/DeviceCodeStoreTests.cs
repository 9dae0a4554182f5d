using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>
/// The device code store on the real SQLite file: each state change has one winner however many requests race
/// (every call below runs on its own DbContext, as concurrent requests do).
/// </summary>
public sealed class DeviceCodeStoreTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private static readonly DeviceApproval Alice = new("alice-sub", DateTimeOffset.UtcNow, ["pwd"]);

    private async Task<T> WithStoreAsync<T>(Func<IDeviceCodeStore, Task<T>> action)
    {
        using var scope = factory.Services.CreateScope();
        return await action(scope.ServiceProvider.GetRequiredService<IDeviceCodeStore>());
    }

    private async Task<DeviceCodeRecord> CreateAsync(string? userCodeHash = null)
    {
        var now = factory.Clock.GetUtcNow();
        var record = new DeviceCodeRecord(Guid.NewGuid().ToString("N"), OpaqueToken.Hash(OpaqueToken.Create()),
            userCodeHash ?? UserCode.Hash(UserCode.Create()), IdentityServerFactory.DeviceClient, ["openid"], now, now.AddMinutes(10), 5);
        Assert.True(await WithStoreAsync(s => s.TryCreateAsync(record)));
        return record;
    }

    private Task<bool[]> RaceAsync(Func<IDeviceCodeStore, Task<bool>> action) =>
        Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => WithStoreAsync(action))));

    [Fact]
    public async Task TwentyConcurrentRedemptions_ExactlyOneWins()
    {
        var record = await CreateAsync();
        Assert.True(await WithStoreAsync(s => s.TryApproveAsync(record.Id, Alice, factory.Clock.GetUtcNow())));

        var wins = await RaceAsync(s => s.TryRedeemAsync(record.Id, factory.Clock.GetUtcNow()));
        Assert.Single(wins, w => w);
        Assert.Equal(DeviceCodeStatus.Redeemed, (await WithStoreAsync(s => s.FindByIdAsync(record.Id)))!.Status);
    }

    [Fact]
    public async Task Redeem_OnlyWhenApproved()
    {
        var record = await CreateAsync();
        Assert.False(await WithStoreAsync(s => s.TryRedeemAsync(record.Id, factory.Clock.GetUtcNow())));
        Assert.True(await WithStoreAsync(s => s.TryDenyAsync(record.Id, factory.Clock.GetUtcNow())));
        Assert.False(await WithStoreAsync(s => s.TryRedeemAsync(record.Id, factory.Clock.GetUtcNow())));
    }

    [Fact]
    public async Task ConcurrentApprovalsAndDenials_ExactlyOneDecides()
    {
        var record = await CreateAsync();
        var now = factory.Clock.GetUtcNow();
        var decisions = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => WithStoreAsync(s =>
            i % 2 == 0 ? s.TryApproveAsync(record.Id, Alice, now) : s.TryDenyAsync(record.Id, now)))));
        Assert.Single(decisions, d => d);

        var stored = (await WithStoreAsync(s => s.FindByIdAsync(record.Id)))!;
        Assert.Contains(stored.Status, new[] { DeviceCodeStatus.Approved, DeviceCodeStatus.Denied });
        Assert.Equal(stored.Status == DeviceCodeStatus.Approved, stored.Approval is not null);
    }

    [Fact]
    public async Task Approve_AfterExpiry_Refused()
    {
        var record = await CreateAsync();
        Assert.False(await WithStoreAsync(s => s.TryApproveAsync(record.Id, Alice, record.ExpiresAt)));
        Assert.Equal(DeviceCodeStatus.Pending, (await WithStoreAsync(s => s.FindByIdAsync(record.Id)))!.Status);
    }

    [Fact]
    public async Task Create_WithATakenUserCode_ReturnsFalse_AndKeepsTheFirst()
    {
        var first = await CreateAsync();
        var now = factory.Clock.GetUtcNow();
        var clash = new DeviceCodeRecord(Guid.NewGuid().ToString("N"), OpaqueToken.Hash(OpaqueToken.Create()), first.UserCodeHash,
            IdentityServerFactory.DeviceClient, ["openid"], now, now.AddMinutes(10), 5);

        Assert.False(await WithStoreAsync(s => s.TryCreateAsync(clash)));
        Assert.Equal(first.Id, (await WithStoreAsync(s => s.FindByUserCodeHashAsync(first.UserCodeHash)))!.Id);
        Assert.Null(await WithStoreAsync(s => s.FindByIdAsync(clash.Id)));
    }

    [Fact]
    public async Task RecordPoll_OnlyFromTheExpectedPreviousPoll()
    {
        var record = await CreateAsync();
        var t1 = factory.Clock.GetUtcNow();
        Assert.True(await WithStoreAsync(s => s.TryRecordPollAsync(record.Id, null, t1)));
        Assert.False(await WithStoreAsync(s => s.TryRecordPollAsync(record.Id, null, t1.AddSeconds(5))));
        Assert.True(await WithStoreAsync(s => s.TryRecordPollAsync(record.Id, t1, t1.AddSeconds(5))));
        // SQLite keeps DateTimeOffset in a packed 64-bit form, to a fraction of a millisecond.
        var stored = (await WithStoreAsync(s => s.FindByIdAsync(record.Id)))!.LastPolledAt!.Value;
        Assert.InRange((stored - t1.AddSeconds(5)).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1));
    }
}
