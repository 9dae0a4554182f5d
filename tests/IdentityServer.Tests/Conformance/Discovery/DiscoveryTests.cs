using IdentityServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Discovery;

/// <summary>OpenID Connect Discovery §3–4, RFC 7517: metadata and JWKS.</summary>
public sealed class DiscoveryTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    [Fact]
    public async Task Metadata_AdvertisesEndpointsAndCapabilities()
    {
        var json = await Json.OkAsync(await _d.Http.GetAsync("/.well-known/openid-configuration"));
        Assert.Equal(Issuer, json.Str("issuer"));
        Assert.Equal(Issuer + "/connect/authorize", json.Str("authorization_endpoint"));
        Assert.Equal(Issuer + "/connect/token", json.Str("token_endpoint"));
        Assert.Equal(Issuer + "/connect/userinfo", json.Str("userinfo_endpoint"));
        Assert.Equal(Issuer + "/connect/deviceauthorization", json.Str("device_authorization_endpoint"));
        Assert.Equal(Issuer + "/connect/introspect", json.Str("introspection_endpoint"));
        Assert.Equal(Issuer + "/connect/revocation", json.Str("revocation_endpoint"));
        Assert.Equal(Issuer + "/connect/endsession", json.Str("end_session_endpoint"));
        Assert.True(json.GetProperty("backchannel_logout_supported").GetBoolean());
        Assert.True(json.GetProperty("backchannel_logout_session_supported").GetBoolean());
        Assert.Equal(["client_secret_basic", "client_secret_post"], Arr("introspection_endpoint_auth_methods_supported"));
        Assert.Equal(["client_secret_basic", "client_secret_post", "none"], Arr("revocation_endpoint_auth_methods_supported"));
        Assert.Equal(Issuer + "/.well-known/jwks.json", json.Str("jwks_uri"));
        string[] Arr(string n) => json.GetProperty(n).EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal(["code"], Arr("response_types_supported"));
        Assert.Equal(["S256"], Arr("code_challenge_methods_supported"));
        Assert.Equal(["client_secret_basic", "client_secret_post", "none"], Arr("token_endpoint_auth_methods_supported"));
        Assert.Equal(["authorization_code", "client_credentials", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"], Arr("grant_types_supported").Order());
        Assert.Contains("api1", Arr("scopes_supported"));
        Assert.Contains("offline_access", Arr("scopes_supported"));
        Assert.True(json.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());
    }

    [Fact]
    public async Task Jwks_PublishesTheKeyThatSignsTokens_WithoutPrivateParts()
    {
        var raw = await _d.Http.GetStringAsync("/.well-known/jwks.json");
        Assert.DoesNotContain("\"d\"", raw);
        Assert.DoesNotContain("\"p\"", raw);
        var set = new JsonWebKeySet(raw);
        var key = Assert.Single(set.Keys);
        Assert.Equal("RSA", key.Kty);
        Assert.Equal("RS256", key.Alg);
        Assert.Equal(2048, Base64UrlEncoder.DecodeBytes(key.N).Length * 8);

        var r = await _d.TokenAsync(new() { ["grant_type"] = "client_credentials" }, ServiceClient, ServiceSecret);
        Assert.Equal(key.Kid, new JsonWebToken((await Json.OkAsync(r)).Str("access_token")).Kid);
    }
}
