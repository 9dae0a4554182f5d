using IdentityServer.Protocol.Grants;

namespace IdentityServer.Tests.Protocol;

/// <summary>RFC 8628 §6.1: the user code's alphabet, display form and forgiving input.</summary>
public sealed class UserCodeTests
{
    [Fact]
    public void Create_EightCharactersFromTheAlphabet_Spread()
    {
        var codes = Enumerable.Range(0, 2000).Select(_ => UserCode.Create()).ToArray();
        Assert.All(codes, c => Assert.Matches("^[BCDFGHJKLMNPQRSTVWXZ]{8}$", c));
        Assert.Equal(codes.Length, codes.Distinct().Count());
        // Every letter of the alphabet turns up (16,000 draws from 20 letters).
        Assert.Equal(UserCode.Alphabet.Order(), codes.SelectMany(c => c).Distinct().Order());
    }

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
    public void Format_SplitsInFours_AndHashIsOfTheNormalizedForm()
    {
        Assert.Equal("WDJB-MJHT", UserCode.Format("WDJBMJHT"));
        Assert.Equal(UserCode.Hash(UserCode.Normalize("wdjb mjht")!), UserCode.Hash("WDJBMJHT"));
        Assert.NotEqual(UserCode.Hash("WDJBMJHT"), UserCode.Hash("WDJBMJHV"));
    }
}
