using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Requests;
using IdentityServer.Protocol.Tokens;

namespace IdentityServer.Tests.Protocol;

/// <summary>Unit tests of protocol rules that need no host.</summary>
public sealed class ProtocolRuleTests
{
    [Fact]
    public void Pkce_Rfc7636AppendixB_Vector()
    {
        const string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        Assert.Equal("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", Pkce.ComputeChallenge(verifier));
        Assert.True(Pkce.Verify(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        Assert.False(Pkce.Verify(verifier + "x", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
    }

    [Theory]
    [InlineData("short", false)]
    [InlineData("has space in it and is long enough to pass the length check", false)]
    [InlineData("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", true)]
    [InlineData("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEj.~", true)]
    public void Pkce_Syntax(string value, bool ok) => Assert.Equal(ok, Pkce.IsWellFormed(value));

    [Fact]
    public void Pkce_VerifierOver128Chars_Refused() => Assert.False(Pkce.IsWellFormed(new string('a', 129)));

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
    public void RedirectUri_ExactMatch_LoopbackIpAnyPort(string requested, bool ok)
    {
        string[] registered = ["https://app.example/cb", "http://127.0.0.1/loop", "http://[::1]/v6", "http://localhost:8000/local"];
        Assert.Equal(ok, RedirectUriMatcher.IsRegistered(requested, registered));
    }

    [Fact]
    public void Parameters_RepeatedRefused_EmptyTreatedAsAbsent()
    {
        var repeated = OAuthParameters.Parse([KeyValuePair.Create("scope", (IReadOnlyList<string?>)["a", "b"])]);
        Assert.False(repeated.Succeeded);
        Assert.Equal("invalid_request", repeated.Error.Error);

        var empty = OAuthParameters.Parse([KeyValuePair.Create("state", (IReadOnlyList<string?>)[""])]);
        Assert.True(empty.Succeeded);
        Assert.Null(empty.Value["state"]);
    }

    [Fact]
    public void Parameters_OverlongValueRefused()
    {
        var r = OAuthParameters.Parse([KeyValuePair.Create("state", (IReadOnlyList<string?>)[new string('x', OAuthParameters.MaxValueLength + 1)])]);
        Assert.Equal("invalid_request", r.Error!.Error);
    }

    [Fact]
    public void ClientSecret_VerifiesHash_RespectsExpiry()
    {
        var secret = ClientSecretHasher.GenerateSecret();
        Assert.Equal(43, secret.Length);
        var now = DateTimeOffset.UtcNow;
        var stored = new ClientSecret(ClientSecretHasher.Hash(secret));
        Assert.True(ClientSecretHasher.Verify(secret, [stored], now));
        Assert.False(ClientSecretHasher.Verify(secret + "x", [stored], now));
        Assert.False(ClientSecretHasher.Verify(secret, [stored with { ExpiresAt = now }], now));
        Assert.NotEqual(secret, stored.Hash);
    }

    [Fact]
    public void OpaqueToken_256Bits_Unique()
    {
        var a = OpaqueToken.Create();
        Assert.Equal(43, a.Length);
        Assert.NotEqual(a, OpaqueToken.Create());
        Assert.NotEqual(a, OpaqueToken.Hash(a));
    }
}
