using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using IdentityServer.Options;

namespace IdentityServer.Device;

/// <summary>
/// Limits user-code entry on the verification page (RFC 8628 §5.1: the user code's low entropy is only safe when guessing
/// is rate-limited). Two sliding windows of <see cref="DeviceFlowOptions.UserCodeAttemptWindowSeconds"/>: per client address
/// (IPv6 grouped by /64, as one host usually holds a whole /64) and per browser session. Every submitted code takes a permit
/// from both before it is looked up, so parallel requests cannot slip past the limit while earlier lookups are still
/// running; a right code costs one attempt too.
/// <para>
/// What each limit is worth: the session is a cookie the browser presents, so a scripted guesser can drop it and only the
/// address limit binds; the session limit protects people sharing an address (an office behind NAT) from one another.
/// The address is the connection's, or the forwarded one from proxies listed in <c>IdentityServer:Proxy</c>; behind an
/// unlisted reverse proxy every person shares the proxy's address. Counters live in this process and run on real time:
/// with several nodes the limit applies per node, which still keeps a 10-minute code out of reach (20^8 codes).
/// </para>
/// </summary>
public sealed class UserCodeAttemptLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _byAddress;
    private readonly PartitionedRateLimiter<string> _bySession;

    /// <summary>Creates both limiters from <see cref="IdentityServerOptions.DeviceFlow"/>.</summary>
    public UserCodeAttemptLimiter(IdentityServerOptions options)
    {
        var o = options.DeviceFlow;
        Window = TimeSpan.FromSeconds(o.UserCodeAttemptWindowSeconds);
        _byAddress = Create(o.UserCodeAttemptsPerAddress, Window);
        _bySession = Create(o.UserCodeAttemptsPerSession, Window);
    }

    /// <summary>The sliding window; a blocked caller is sure to have attempts again after it.</summary>
    public TimeSpan Window { get; }

    private static PartitionedRateLimiter<string> Create(int limit, TimeSpan window) =>
        PartitionedRateLimiter.Create<string, string>(key => RateLimitPartition.GetSlidingWindowLimiter(key, _ => new SlidingWindowRateLimiterOptions
        {
            PermitLimit = limit, Window = window, SegmentsPerWindow = 5, QueueLimit = 0, AutoReplenishment = true,
        }));

    /// <summary>
    /// Takes one attempt for <paramref name="session"/> and then for <paramref name="address"/>. False when either has none
    /// left in the window (a session that is refused does not use up its address's attempts).
    /// </summary>
    public bool TryAcquire(IPAddress? address, string session)
    {
        using var bySession = _bySession.AttemptAcquire(session);
        if (!bySession.IsAcquired) return false;
        using var byAddress = _byAddress.AttemptAcquire(AddressKey(address));
        return byAddress.IsAcquired;
    }

    /// <summary>The partition of a client address: IPv4 as is (also when mapped into IPv6), IPv6 by its /64 prefix; unknown addresses share one partition.</summary>
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
