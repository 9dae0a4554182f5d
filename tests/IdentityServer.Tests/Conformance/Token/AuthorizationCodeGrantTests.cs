using System.Net;
using System.Text.Json;
using IdentityServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Token;

/// <summary>RFC 6749 §4.1.3, RFC 7636 §4.5–4.6, RFC 9700 §4.5, OpenID Connect Core §3.1.3: redeeming codes.</summary>
public sealed class AuthorizationCodeGrantTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task ValidCode_ReturnsAccessIdAndRefreshTokens_WithRequiredClaims()
    {
        var verifier = OidcDriver.NewVerifier();
        var p = OidcDriver.AuthorizeParameters(verifier);
        var code = await _d.GetCodeAsync(verifier, p);
        var r = await _d.RedeemCodeAsync(code, verifier);
        var json = await Json.OkAsync(r);
        Assert.Contains("no-store", r.Headers.CacheControl!.ToString());
        Assert.Equal("Bearer", json.Str("token_type"));
        Assert.Equal(3600, json.GetProperty("expires_in").GetInt32());
        Assert.Equal("openid profile email offline_access api1", json.Str("scope"));
        Assert.Equal(43, json.Str("refresh_token").Length);

        var keys = await JwksAsync();
        var access = await ValidateAsync(json.Str("access_token"), keys, "at+jwt");
        Assert.Equal(Issuer, access.Issuer);
        Assert.Equal(IdentityServerFactory.WebClient, access.GetClaim("client_id").Value);
        Assert.Equal("openid profile email offline_access api1", access.GetClaim("scope").Value);
        Assert.Equal(new[] { Issuer, ApiAudience }.Order(), access.Audiences.Order());
        Assert.False(string.IsNullOrEmpty(access.Id));
        Assert.Equal(3600, (access.ValidTo - access.IssuedAt).TotalSeconds);

        var id = await ValidateAsync(json.Str("id_token"), keys, "JWT");
        Assert.Equal(access.Subject, id.Subject);
        Assert.Equal(IdentityServerFactory.WebClient, id.Audiences.Single());
        Assert.Equal(p["nonce"], id.GetClaim("nonce").Value);
        Assert.Equal(Hashes.LeftHalfSha256(json.Str("access_token")), id.GetClaim("at_hash").Value);
        Assert.Contains(id.Claims, c => c.Type == "amr" && c.Value == "pwd");
        Assert.False(string.IsNullOrEmpty(id.GetClaim("sid").Value));
        var authTime = long.Parse(id.GetClaim("auth_time").Value);
        Assert.InRange(authTime, factory.Clock.GetUtcNow().ToUnixTimeSeconds() - 60, factory.Clock.GetUtcNow().ToUnixTimeSeconds());
    }

    [Fact]
    public async Task WrongCodeVerifier_InvalidGrant()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, OidcDriver.NewVerifier()), HttpStatusCode.BadRequest, "invalid_grant");
        // The failed attempt does not burn the code for the rightful client.
        await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier));
    }

    [Fact]
    public async Task Rfc7636AppendixBVector_Redeems_AndOneCharacterOff_DoesNot()
    {
        // RFC 7636 Appendix B: this verifier's S256 challenge is E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM.
        const string verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        var parameters = OidcDriver.AuthorizeParameters(verifier);
        parameters["code_challenge"] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        var code = await _d.GetCodeAsync(verifier, parameters);
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier[..^1] + "l"), HttpStatusCode.BadRequest, "invalid_grant");
        await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier));
    }

    [Theory]
    [InlineData("short")]
    [InlineData("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk dBjftJeZ4CVP")] // a space is not unreserved (RFC 7636 §4.1)
    public async Task MalformedCodeVerifier_InvalidGrant_EvenWhenItsHashIsTheChallenge(string verifier)
    {
        // The S256 challenge of any string is well formed, so only the verifier's own syntax can refuse it.
        var code = await _d.GetCodeAsync(verifier);
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task MissingCodeVerifier_InvalidRequest()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        var r = await _d.TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = code, ["redirect_uri"] = WebRedirect }, IdentityServerFactory.WebClient, WebSecret);
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task CodeReused_InvalidGrant_AndFirstTokensRevoked()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        var first = await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier));
        await Json.OkAsync(await _d.UserInfoAsync(first.Str("access_token")));

        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier), HttpStatusCode.BadRequest, "invalid_grant");

        var userinfo = await _d.UserInfoAsync(first.Str("access_token"));
        Assert.Equal(HttpStatusCode.Unauthorized, userinfo.StatusCode);
        Assert.Contains("invalid_token", userinfo.Headers.WwwAuthenticate.ToString());
        await Json.ErrorAsync(await _d.RefreshAsync(first.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    /// <summary>
    /// Whoever holds a used code but is not its client, or cannot prove it (redirect_uri, PKCE), gets invalid_grant and changes nothing:
    /// the legitimate sign-in keeps working (issue 11 item 4; a stolen used code must not be a way to cut someone's session off).
    /// </summary>
    [Theory]
    [InlineData("wrong verifier")]
    [InlineData("another client")]
    [InlineData("other redirect_uri")]
    public async Task UsedCode_PresentedByAnyoneButItsClient_InvalidGrant_NothingRevoked(string who)
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, redirectUri: LoopbackRedirect));
        var first = await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier, redirectUri: LoopbackRedirect));

        var replay = who switch
        {
            "wrong verifier" => _d.RedeemCodeAsync(code, OidcDriver.NewVerifier(), redirectUri: LoopbackRedirect),
            "another client" => _d.RedeemCodeAsync(code, verifier, OtherClient, OtherSecret, LoopbackRedirect),
            _ => _d.RedeemCodeAsync(code, verifier, redirectUri: LoopbackRedirect.Replace("/cb", "/other")),
        };
        await Json.ErrorAsync(await replay, HttpStatusCode.BadRequest, "invalid_grant");

        await Json.OkAsync(await _d.UserInfoAsync(first.Str("access_token")));
        await Json.OkAsync(await _d.RefreshAsync(first.Str("refresh_token")));
    }

    [Fact]
    public async Task CodeRedeemedByAnotherClient_InvalidGrant()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier, OtherClient, OtherSecret), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task ExpiredCode_InvalidGrant()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        factory.Clock.Advance(TimeSpan.FromSeconds(61));
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task RedirectUriDiffersFromAuthorization_InvalidGrant()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        await Json.ErrorAsync(await _d.RedeemCodeAsync(code, verifier, redirectUri: LoopbackRedirect), HttpStatusCode.BadRequest, "invalid_grant");
    }

    [Fact]
    public async Task UnknownCode_InvalidGrant() =>
        await Json.ErrorAsync(await _d.RedeemCodeAsync("not-a-code", OidcDriver.NewVerifier()), HttpStatusCode.BadRequest, "invalid_grant");

    [Fact]
    public async Task PublicClient_AuthenticatesWithClientIdOnly()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier, OidcDriver.AuthorizeParameters(verifier, PublicClient, PublicRedirect, "openid offline_access"));
        var json = await Json.OkAsync(await _d.RedeemCodeAsync(code, verifier, PublicClient, null, PublicRedirect));
        Assert.True(json.TryGetProperty("refresh_token", out _));
    }

    [Fact]
    public async Task TwentyParallelRedemptions_ExactlyOneSucceeds_No5xx()
    {
        var verifier = OidcDriver.NewVerifier();
        var code = await _d.GetCodeAsync(verifier);
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => Task.Run(() => _d.RedeemCodeAsync(code, verifier))));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.OK), r => Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode));
        foreach (var r in responses.Where(r => r.StatusCode != HttpStatusCode.OK))
            Assert.Equal("invalid_grant", JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.Str("error"));
        // The losers presented a used code: what the winner got is revoked too (RFC 6749 §4.1.2), as for a later replay.
        var winner = await Json.OkAsync(responses.Single(r => r.StatusCode == HttpStatusCode.OK));
        Assert.Equal(HttpStatusCode.Unauthorized, (await _d.UserInfoAsync(winner.Str("access_token"))).StatusCode);
        await Json.ErrorAsync(await _d.RefreshAsync(winner.Str("refresh_token")), HttpStatusCode.BadRequest, "invalid_grant");
    }

    private Task<JsonWebKeySet> JwksAsync() => Tokens.JwksAsync(_d.Http);

    private static Task<JsonWebToken> ValidateAsync(string token, JsonWebKeySet keys, string type) => Tokens.ValidateAsync(token, keys, type);
}
