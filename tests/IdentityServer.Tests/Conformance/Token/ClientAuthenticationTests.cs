using System.Net;
using System.Net.Http.Headers;
using System.Text;
using IdentityServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Token;

/// <summary>RFC 6749 §2.3, §3.2, §4.4, §5.2: client authentication, client credentials and the endpoint's shared checks.</summary>
public sealed class ClientAuthenticationTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly OidcDriver _d = new(factory.CreateBrowser());

    private Task<HttpResponseMessage> ClientCredentials(string clientId, string? secret, string? scope = "api1")
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
        if (scope is not null) form["scope"] = scope;
        return _d.TokenAsync(form, clientId, secret);
    }

    [Fact]
    public async Task ClientCredentials_Basic_IssuesAccessTokenOnly()
    {
        var json = await Json.OkAsync(await ClientCredentials(ServiceClient, ServiceSecret));
        Assert.False(json.TryGetProperty("refresh_token", out _));
        Assert.False(json.TryGetProperty("id_token", out _));
        var jwt = new JsonWebToken(json.Str("access_token"));
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.Equal(ServiceClient, jwt.Subject);
        Assert.Equal(ServiceClient, jwt.GetClaim("client_id").Value);
        Assert.Equal(ApiAudience, jwt.Audiences.Single());
        Assert.Equal("api1", jwt.GetClaim("scope").Value);
    }

    [Fact]
    public async Task ClientCredentials_SecretPost_Works()
    {
        var r = await _d.Http.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = ServiceClient, ["client_secret"] = ServiceSecret,
        }));
        Assert.Equal("api1", (await Json.OkAsync(r)).Str("scope"));
    }

    [Fact]
    public async Task WrongSecret_401InvalidClient_WithWwwAuthenticate()
    {
        var r = await ClientCredentials(ServiceClient, "wrong-secret-wrong-secret-wrong-secret-00");
        await Json.ErrorAsync(r, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.StartsWith("Basic", r.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task UnknownClient_401InvalidClient() =>
        await Json.ErrorAsync(await ClientCredentials("nobody", "whatever-whatever-whatever-whatever"), HttpStatusCode.Unauthorized, "invalid_client");

    [Fact]
    public async Task ConfidentialClientWithoutSecret_401InvalidClient() =>
        await Json.ErrorAsync(await ClientCredentials(ServiceClient, null), HttpStatusCode.Unauthorized, "invalid_client");

    [Fact]
    public async Task MalformedBasicHeader_401InvalidClient()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "client_credentials" }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", "%%%not-base64");
        await Json.ErrorAsync(await _d.Http.SendAsync(request), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task BasicAndPostTogether_InvalidRequest()
    {
        var r = await _d.TokenAsync(new() { ["grant_type"] = "client_credentials", ["client_secret"] = ServiceSecret }, ServiceClient, ServiceSecret);
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task ClientCredentials_ByPublicClient_UnauthorizedClient() =>
        await Json.ErrorAsync(await ClientCredentials(PublicClient, null, "openid"), HttpStatusCode.BadRequest, "unauthorized_client");

    [Fact]
    public async Task PublicClientSendingSecret_401InvalidClient() =>
        await Json.ErrorAsync(await ClientCredentials(PublicClient, "some-secret-some-secret-some-secret-00"), HttpStatusCode.Unauthorized, "invalid_client");

    [Fact]
    public async Task ClientCredentials_IdentityScope_InvalidScope() =>
        await Json.ErrorAsync(await ClientCredentials(ServiceClient, ServiceSecret, "openid api1"), HttpStatusCode.BadRequest, "invalid_scope");

    [Fact]
    public async Task ClientCredentials_BlankScope_InvalidScope() =>
        await Json.ErrorAsync(await ClientCredentials(ServiceClient, ServiceSecret, "   "), HttpStatusCode.BadRequest, "invalid_scope");

    [Fact]
    public async Task ClientCredentials_NoScope_GetsAllowedApiScopes() =>
        Assert.Equal("api1", (await Json.OkAsync(await ClientCredentials(ServiceClient, ServiceSecret, null))).Str("scope"));

    [Theory]
    [InlineData("password")]
    [InlineData("implicit")]
    [InlineData("urn:ietf:params:oauth:grant-type:jwt-bearer")]
    public async Task UnsupportedGrantType_UnsupportedGrantType(string grantType) =>
        await Json.ErrorAsync(await _d.TokenAsync(new() { ["grant_type"] = grantType }, ServiceClient, ServiceSecret), HttpStatusCode.BadRequest, "unsupported_grant_type");

    [Fact]
    public async Task GrantTypeNotRegisteredForClient_UnauthorizedClient() =>
        await Json.ErrorAsync(await _d.TokenAsync(new() { ["grant_type"] = "refresh_token", ["refresh_token"] = "x" }, ServiceClient, ServiceSecret), HttpStatusCode.BadRequest, "unauthorized_client");

    [Fact]
    public async Task MissingGrantType_InvalidRequest() =>
        await Json.ErrorAsync(await _d.TokenAsync(new(), ServiceClient, ServiceSecret), HttpStatusCode.BadRequest, "invalid_request");

    [Fact]
    public async Task RepeatedParameter_InvalidRequest()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token")
        {
            Content = new StringContent("grant_type=client_credentials&scope=api1&scope=api1", Encoding.ASCII, "application/x-www-form-urlencoded"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ServiceClient}:{ServiceSecret}")));
        await Json.ErrorAsync(await _d.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_request");
    }

    /// <summary>A body that cannot be read as a form, or parameters over our limits: invalid_request, never a 500.</summary>
    [Theory]
    [InlineData("/connect/token", "fields")]
    [InlineData("/connect/token", "long-key")]
    [InlineData("/connect/token", "long-value")]
    [InlineData("/connect/token", "many")]
    [InlineData("/connect/introspect", "fields")]
    [InlineData("/connect/revocation", "fields")]
    [InlineData("/connect/deviceauthorization", "fields")]
    [InlineData("/connect/userinfo", "fields")]
    public async Task UnreadableOrOversizedForm_InvalidRequest(string path, string shape)
    {
        var body = shape switch
        {
            "fields" => string.Join("&", Enumerable.Range(0, 1100).Select(i => $"f{i}=x")),  // over ASP.NET Core's 1,024 fields
            "long-key" => new string('k', 3000) + "=x",                                    // over its 2,048-character keys
            "long-value" => "grant_type=client_credentials&scope=" + new string('a', 8193), // over our 8 KiB values
            _ => string.Join("&", Enumerable.Range(0, 70).Select(i => $"p{i}=x")),          // over our 64 parameters
        };
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.ASCII, "application/x-www-form-urlencoded") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ServiceClient}:{ServiceSecret}")));
        var r = await _d.Http.SendAsync(request);
        if (path == "/connect/userinfo")
        {
            // RFC 6750 §3: a resource's error is in the WWW-Authenticate header.
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("error=\"invalid_request\"", r.Headers.WwwAuthenticate.ToString());
        }
        else await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Theory]
    [InlineData("application/x-www-form-urlencodedx")]
    [InlineData("application/x-www-form-urlencoded, text/plain")]
    [InlineData("multipart/form-data; boundary=xyz")]
    public async Task ContentTypeThatIsNotTheFormType_InvalidRequest(string contentType)
    {
        var content = new StringContent("grant_type=client_credentials", Encoding.ASCII);
        content.Headers.Remove("Content-Type");
        Assert.True(content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{ServiceClient}:{ServiceSecret}")));
        await Json.ErrorAsync(await _d.Http.SendAsync(request), HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task JsonBody_InvalidRequest()
    {
        var r = await _d.Http.PostAsync("/connect/token", new StringContent("{\"grant_type\":\"client_credentials\"}", Encoding.UTF8, "application/json"));
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }
}
