using System.Net;
using System.Net.Sockets;
using IdentityServer.Data;
using IdentityServer.Options;

namespace IdentityServer.Device;

/// <summary>
/// Limits user-code entry on the verification page (RFC 8628 §5.1: the user code's low entropy is only safe when guessing
/// is rate-limited). Two fixed windows of <see cref="DeviceFlowOptions.UserCodeAttemptWindowSeconds"/>: per client address
/// (IPv6 grouped by /64, as one host usually holds a whole /64) and per browser session. Every submitted code counts against
/// both before it is looked up, so parallel requests cannot slip past the limit while earlier lookups are still running; a
/// right code costs one attempt too.
/// <para>
/// The counts are in the database (<see cref="AttemptCounts"/>), so a guesser cannot multiply the limit by spreading attempts over
/// several nodes. What each limit is worth: the session is a cookie the browser presents, so a scripted guesser can drop it and only
/// the address limit binds; the session limit protects people sharing an address (an office behind NAT) from one another. The
/// address is the connection's, or the forwarded one from proxies listed in <c>IdentityServer:Proxy</c>; behind an unlisted reverse
/// proxy every person shares the proxy's address.
/// </para>
/// </summary>
public sealed class UserCodeAttemptLimiter(IdentityServerDbContext db, IdentityServerOptions options, TimeProvider time)
{
    private DeviceFlowOptions Limits => options.DeviceFlow;

    /// <summary>
    /// Counts one attempt for <paramref name="session"/> (when there is one) and then for <paramref name="address"/>. Null when both are within their
    /// limits; else how long until the full window ends (whole seconds, at least 1). A session that is refused does not use up its
    /// address's attempts.
    /// </summary>
    /// <exception cref="Microsoft.EntityFrameworkCore.DbUpdateException">The count could not be written (see <see cref="AttemptCounts.AddAsync"/>).</exception>
    public async Task<TimeSpan?> TryAcquireAsync(IPAddress? address, string? session, CancellationToken ct)
    {
        var window = Limits.UserCodeAttemptWindowSeconds;
        // Without a session (no cookie) only the address limit applies: one shared bucket would let a few cookie-less requests block
        // every cookie-less person on every node.
        if (session is not null)
        {
            var bySession = await AttemptCounts.AddAsync(db, "usercode-session:" + session, window, time, ct);
            if (bySession.Count > Limits.UserCodeAttemptsPerSession)
                return AttemptCounts.Until(bySession.WindowStart, window, time.GetUtcNow());
        }
        var byAddress = await AttemptCounts.AddAsync(db, "usercode-address:" + AddressKey(address), window, time, ct);
        return byAddress.Count > Limits.UserCodeAttemptsPerAddress ? AttemptCounts.Until(byAddress.WindowStart, window, time.GetUtcNow()) : null;
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
}
