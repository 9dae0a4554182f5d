using System.Security.Cryptography;
using System.Text;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Handlers;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Protocol;

/// <summary>Unit tests of protocol rules that need no host.</summary>
public sealed class ProtocolRuleTests
{
    [Theory]
    [InlineData("https://app.example/cb", true)]
    [InlineData("https://app.example/cb/", false)]
    [InlineData("https://app.example/cb?x=1", false)]
    [InlineData("https://app.example:444/cb", false)]
    [InlineData("http://127.0.0.1:9999/loop", true)]
    [InlineData("http://127.0.0.1/loop", true)]
    [InlineData("http://127.0.0.1:9999/loop/", false)]
    [InlineData("http://[::1]:8080/v6", true)]
    [InlineData("http://localhost:9999/local", false)]
    [InlineData("http://localhost:8000/local", true)]
    [InlineData("http://127.0.0.1:80/loop", true)]      // any port, the default one written out too (RFC 8252 §7.3)
    [InlineData("HTTP://127.0.0.1:9999/loop", false)]   // the scheme is compared as written too (RFC 9700 §4.1.3)
    [InlineData("Http://127.0.0.1/loop", false)]
    [InlineData("http://127.0.0.1:9999/LOOP", false)]
    [InlineData("HTTPS://app.example/cb", false)]
    public void RedirectUri_ExactMatch_LoopbackIpAnyPort(string requested, bool ok)
    {
        string[] registered = ["https://app.example/cb", "http://127.0.0.1/loop", "http://[::1]/v6", "http://localhost:8000/local"];
        Assert.Equal(ok, RedirectUriMatcher.IsRegistered(requested, registered));
    }

    [Fact]
    public void Parameters_RepeatedOverlongOrTooMany_Refused()
    {
        Assert.Null(RequestParameterRules.Check([("scope", 0, "openid"), ("state", 0, "")]));
        Assert.Equal(RequestParameterRules.Repeated, RequestParameterRules.Check([("scope", 2, null)]));
        Assert.Null(RequestParameterRules.Check([("state", 0, new string('x', RequestParameterRules.MaxValueLength))]));
        Assert.Equal(RequestParameterRules.TooLong, RequestParameterRules.Check([("state", 0, new string('x', RequestParameterRules.MaxValueLength + 1))]));
        var many = Enumerable.Range(0, RequestParameterRules.MaxParameterCount + 1).Select(i => ("p" + i, 0, (string?)"v")).ToList();
        Assert.Null(RequestParameterRules.Check(many[..^1]));
        Assert.Equal(RequestParameterRules.TooMany, RequestParameterRules.Check(many));
    }

    [Fact]
    public void ClientSecret_StoredAsSha256_VerifiesInConstantTime_RespectsExpiry()
    {
        var secret = ClientSecrets.Generate();
        Assert.Equal(43, secret.Length);
        var now = DateTimeOffset.UtcNow;
        var stored = new StoredClientSecret(ClientSecrets.Hash(secret), now);
        Assert.Equal(Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(secret))), stored.Sha256);
        Assert.True(ClientSecrets.Verify(secret, [stored], now));
        Assert.False(ClientSecrets.Verify(secret + "x", [stored], now));
        Assert.False(ClientSecrets.Verify(secret, [stored with { ExpiresAt = now }], now));
        Assert.True(ClientSecrets.Verify(secret, [new StoredClientSecret("not base64url!", now), stored], now));

        var json = ClientSecrets.Serialize([stored]);
        Assert.DoesNotContain(secret, json);
        Assert.Equal([stored], ClientSecrets.Parse(json));
        Assert.Empty(ClientSecrets.Parse("$2a$not-json"));
    }
}
