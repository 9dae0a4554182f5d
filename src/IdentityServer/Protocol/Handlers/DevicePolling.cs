using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Options;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The device's polling pace (RFC 8628 §3.2 <c>interval</c>, §3.5 <c>slow_down</c>):
/// <list type="bullet">
/// <item>the device authorization response carries <c>interval</c>, <see cref="DeviceFlowOptions.PollingIntervalSeconds"/>;</item>
/// <item>a poll that comes sooner than the device code's current interval after the previous one (less a tolerance of
/// <see cref="Tolerance"/> for timer and network jitter) is answered <c>slow_down</c>, and the interval of that device code grows by
/// <see cref="IncrementSeconds"/> for good ("the interval MUST be increased by 5 seconds for this and all subsequent requests").</item>
/// </list>
/// The check runs for a known, unexpired device code of the calling client before its state is looked at, so it applies while the
/// request is pending, approved or denied. Each poll is one conditional update: of concurrent polls one is on time and the others
/// are too fast, on any number of nodes. OpenIddict's server never answers <c>slow_down</c> by itself.
/// </summary>
public sealed class DevicePolling(IdentityServerDbContext db, IdentityServerOptions options, TimeProvider time) :
    IOpenIddictServerHandler<ValidateTokenContext>, IOpenIddictServerHandler<HandleDeviceAuthorizationRequestContext>
{
    /// <summary>Seconds added to the interval on each <c>slow_down</c>.</summary>
    public const int IncrementSeconds = 5;

    /// <summary>A poll this much earlier than the interval allows still counts as on time.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromMilliseconds(500);

    /// <summary>After expiry and reuse were checked, before OpenIddict answers from the device code's state.</summary>
    public static OpenIddictServerHandlerDescriptor PollDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseScopedHandler<DevicePolling>()
        .SetOrder(ValidateTokenEntry.Descriptor.Order - 150)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>While the device authorization response is made.</summary>
    public static OpenIddictServerHandlerDescriptor IntervalDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleDeviceAuthorizationRequestContext>()
        .UseScopedHandler<DevicePolling>()
        .SetOrder(0)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleDeviceAuthorizationRequestContext context)
    {
        context.Parameters[Parameters.Interval] = options.DeviceFlow.PollingIntervalSeconds;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || context.Principal is not { } principal
            || !principal.HasTokenType(TokenTypeIdentifiers.Private.DeviceCode) || context.TokenId is not { Length: > 0 } id) return;
        // Another client's poll is refused later (invalid_grant) and does not count against the owner's pace.
        if (context.Transaction.Request?.ClientId is not { } clientId || !principal.HasPresenter(clientId)) return;
        var now = time.GetUtcNow();
        var poll = await db.DevicePolls.AsNoTracking().FirstOrDefaultAsync(p => p.DeviceCodeId == id, context.CancellationToken);
        if (poll is null)
        {
            var first = db.DevicePolls.Add(new DevicePollEntity
            {
                DeviceCodeId = id, IntervalSeconds = options.DeviceFlow.PollingIntervalSeconds, LastPolledAt = now,
                ExpiresAt = principal.GetExpirationDate() ?? now.AddSeconds(options.DeviceFlow.DeviceCodeLifetimeSeconds),
            });
            try
            {
                await db.SaveChangesAsync(context.CancellationToken);
                return;
            }
            catch (DbUpdateException)
            {
                // Another poll of the same code got in first: this one is too fast.
                first.State = EntityState.Detached;
                poll = await db.DevicePolls.AsNoTracking().FirstAsync(p => p.DeviceCodeId == id, context.CancellationToken);
            }
        }
        else
        {
            var onTime = now >= poll.LastPolledAt.AddSeconds(poll.IntervalSeconds) - Tolerance;
            var last = poll.LastPolledAt;
            if (onTime && await db.DevicePolls.Where(p => p.DeviceCodeId == id && p.LastPolledAt == last)
                    .ExecuteUpdateAsync(s => s.SetProperty(p => p.LastPolledAt, now), context.CancellationToken) == 1)
                return;
        }

        var interval = poll.IntervalSeconds;
        await db.DevicePolls.Where(p => p.DeviceCodeId == id && p.IntervalSeconds == interval)
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.IntervalSeconds, interval + IncrementSeconds).SetProperty(p => p.LastPolledAt, now), context.CancellationToken);
        context.Logger.LogInformation("Device code polled too fast: slow_down, interval now {Interval} s", interval + IncrementSeconds);
        context.Reject(Errors.SlowDown, $"Poll at most every {interval + IncrementSeconds} seconds.");
    }
}
