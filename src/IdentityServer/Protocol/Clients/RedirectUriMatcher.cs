namespace IdentityServer.Protocol.Clients;

/// <summary>Decides whether a requested <c>redirect_uri</c> is registered for a client.</summary>
/// <remarks>
/// Exact string comparison (RFC 9700 §4.1.3, OAuth 2.1 §2.3.1); the one exception is a loopback IP
/// literal with the <c>http</c> scheme, where any port is accepted (RFC 8252 §7.3). No wildcards.
/// </remarks>
public static class RedirectUriMatcher
{
    /// <summary>True when <paramref name="requested"/> equals a registered URI, or differs only by port on a loopback IP.</summary>
    public static bool IsRegistered(string requested, IEnumerable<string> registered)
    {
        foreach (var candidate in registered)
        {
            if (string.Equals(candidate, requested, StringComparison.Ordinal)) return true;
            if (IsLoopbackMatchIgnoringPort(candidate, requested)) return true;
        }
        return false;
    }

    private static bool IsLoopbackMatchIgnoringPort(string registered, string requested)
    {
        if (!Uri.TryCreate(registered, UriKind.Absolute, out var r) || !Uri.TryCreate(requested, UriKind.Absolute, out var q))
            return false;
        if (r.Scheme != Uri.UriSchemeHttp || q.Scheme != Uri.UriSchemeHttp) return false;
        if (!IsLoopbackIp(r.Host) || !string.Equals(r.Host, q.Host, StringComparison.Ordinal)) return false;
        // Compare everything but the port, character for character (the scheme's case too: HTTP:// is not http://).
        return WithoutPort(registered, r) is { } a && WithoutPort(requested, q) is { } b && string.Equals(a, b, StringComparison.Ordinal);
    }

    /// <summary>
    /// The URI as written, without its port (written or not: <c>http://127.0.0.1:80/cb</c> is <c>http://127.0.0.1/cb</c> too); null when
    /// it is not written in the plain form <c>http://host[:port]…</c>.
    /// </summary>
    private static string? WithoutPort(string raw, Uri uri)
    {
        var prefix = $"{Uri.UriSchemeHttp}://{uri.Host}";
        if (!raw.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = raw[prefix.Length..];
        if (rest.StartsWith(':'))
        {
            var digits = rest[1..].TakeWhile(char.IsAsciiDigit).Count();
            if (digits == 0) return null;
            rest = rest[(1 + digits)..];
        }
        return prefix + rest;
    }

    /// <summary>True for the IPv4 and IPv6 loopback literals (<c>127.0.0.1</c>, <c>[::1]</c>). <c>localhost</c> is not an IP literal (RFC 8252 §8.3).</summary>
    public static bool IsLoopbackIp(string host) =>
        host == "127.0.0.1" || host == "[::1]" || host == "::1";
}
