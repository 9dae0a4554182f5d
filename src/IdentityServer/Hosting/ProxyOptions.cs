using System.Net;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace IdentityServer.Hosting;

/// <summary>
/// Section <c>IdentityServer:Proxy</c>: the reverse proxies whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>
/// are believed. Behind a TLS-terminating proxy the server must see the original https scheme, or Secure cookies and
/// antiforgery fail. Loopback proxies are always trusted; nothing else unless listed here.
/// </summary>
public sealed class ProxyOptions
{
    /// <summary>Configuration section path.</summary>
    public const string SectionName = "IdentityServer:Proxy";

    /// <summary>Proxy IP addresses, e.g. <c>10.0.0.5</c>.</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Proxy networks in CIDR form, e.g. <c>10.0.0.0/8</c>.</summary>
    public List<string> KnownNetworks { get; set; } = [];
}

/// <summary>Applies <see cref="ProxyOptions"/> to ASP.NET's forwarded-headers middleware. Throws <see cref="FormatException"/> at start-up for a malformed address.</summary>
public sealed class ForwardedHeadersSetup(IConfiguration configuration) : IConfigureOptions<ForwardedHeadersOptions>
{
    /// <inheritdoc />
    public void Configure(ForwardedHeadersOptions o)
    {
        var proxy = configuration.GetSection(ProxyOptions.SectionName).Get<ProxyOptions>() ?? new ProxyOptions();
        o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
        foreach (var p in proxy.KnownProxies) o.KnownProxies.Add(IPAddress.Parse(p));
        foreach (var n in proxy.KnownNetworks) o.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(n));
    }
}
