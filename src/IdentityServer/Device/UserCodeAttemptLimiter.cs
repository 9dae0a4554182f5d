using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using IdentityServer.Protocol.Options;

namespace IdentityServer.Device;

/// <summary>
/// Limits wrong user codes on the verification page (RFC 8628 §5.1: the user code's low entropy is only safe when
/// guessing is rate-limited). Two sliding windows of <see cref="DeviceFlowOptions.UserCodeAttemptWindowSeconds"/>:
/// per client address (IPv6 grouped by /64, as one host usually holds a whole /64) and per browser session. Only
/// failures count, so a person who types the right code is never held up by others. Counters live in this process:
/// with several nodes the limit applies per node, which still keeps a 10-minute code out of reach (20^8 codes).
/// </summary>
public sealed class UserCodeAttemptLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _byAddress;
    private readonly PartitionedRateLimiter<string> _bySession;
    private readonly TimeSpan _window;

    /// <summary>Creates both limiters from <see cref="IdentityServerOptions.DeviceFlow"/>.</summary>
    public UserCodeAttemptLimiter(IdentityServerOptions options)
    {
        var o = options.DeviceFlow;
        _window = TimeSpan.FromSeconds(o.UserCodeAttemptWindowSeconds);
        _byAddress = Create(o.UserCodeAttemptsPerAddress, _window);
        _bySession = Create(o.UserCodeAttemptsPerSession, _window);
    }

    private static PartitionedRateLimiter<string> Create(int limit, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit, Window = window, SegmentsPerWindow = 5, QueueLimit = 0, AutoReplenishment = true,
        }));

    /// <summary>
    /// True when <paramref name="address"/> or <paramref name="session"/> has no failures left in the window;
    /// <paramref name="retryAfter"/> is then how long to wait (at most the window).
    /// </summary>
    public bool IsBlocked(IPAddress? address, string session, out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        foreach (var (limiter, key) in new[] { (_byAddress, AddressKey(address)), (_bySession, session) })
        {
            using var lease = limiter.AttemptAcquire(key, 0);
            if (lease.IsAcquired) continue;
            retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero && after < _window ? after : _window;
            return true;
        }
        return false;
    }

    /// <summary>Counts one wrong code against both the address and the session.</summary>
    public void RecordFailure(IPAddress? address, string session)
    {
        _byAddress.AttemptAcquire(AddressKey(address)).Dispose();
        _bySession.AttemptAcquire(session).Dispose();
    }

    /// <summary>The partition of a client address: IPv4 as is, IPv6 by its /64 prefix; unknown addresses share one partition.</summary>
    public static string AddressKey(IPAddress? address)
    {
        if (address is null) return "unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return address.ToString();
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes) + "/64";
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _byAddress.Dispose();
        _bySession.Dispose();
    }
}
