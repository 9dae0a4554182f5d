using System.Net;
using IdentityServer.Device;

namespace IdentityServer.Tests.Protocol;

/// <summary>How the user-code attempt limit groups client addresses.</summary>
public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("203.0.113.7", "203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "203.0.113.7")] // IPv4 mapped into IPv6 is the IPv4 host
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::/64")] // same /64, same partition
    [InlineData("2001:db8:1:3::1", "2001:db8:1:3::/64")]
    public void AddressKey_IPv4AsIs_IPv6ByItsSlash64(string address, string expected) =>
        Assert.Equal(expected, UserCodeAttemptLimiter.AddressKey(IPAddress.Parse(address)));

    [Fact]
    public void AddressKey_UnknownAddress_SharesOnePartition() => Assert.Equal("unknown", UserCodeAttemptLimiter.AddressKey(null));
}
