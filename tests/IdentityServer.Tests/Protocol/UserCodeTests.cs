using IdentityServer.Protocol;

namespace IdentityServer.Tests.Protocol;

/// <summary>RFC 8628 §6.1: the user code's display form and forgiving input (the codes the endpoint issues are checked in DeviceAuthorizationEndpointTests).</summary>
public sealed class UserCodeTests
{
    [Theory]
    [InlineData("WDJB-MJHT", "WDJBMJHT")]
    [InlineData("wdjb-mjht", "WDJBMJHT")]
    [InlineData(" wdjb mjht ", "WDJBMJHT")]
    [InlineData("WDJBMJHT", "WDJBMJHT")]
    [InlineData("W-D-J-B-M-J-H-T", "WDJBMJHT")]
    [InlineData("WDJB\tMJHT", "WDJBMJHT")]
    public void Normalize_IgnoresCaseDashesAndWhiteSpace(string typed, string expected) =>
        Assert.Equal(expected, UserCode.Normalize(typed));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("WDJB-MJH")] // too short
    [InlineData("WDJB-MJHTB")] // too long
    [InlineData("WDJA-MJHT")] // vowel: never in a code
    [InlineData("WDJB-MJH1")] // digit
    [InlineData("WDJB_MJHT")] // other separator
    [InlineData("WDJB-MJHT                                      ")] // over the input limit
    public void Normalize_RejectsWhatCannotBeACode(string? typed) => Assert.Null(UserCode.Normalize(typed));

    [Fact]
    public void Format_SplitsInFours_LikeTheDisplayFormat()
    {
        Assert.Equal("WDJB-MJHT", UserCode.Format("WDJBMJHT"));
        Assert.Equal(UserCode.Format("WDJBMJHT"), string.Format(UserCode.DisplayFormat, "WDJBMJHT".Select(c => (object)c).ToArray()));
    }
}
