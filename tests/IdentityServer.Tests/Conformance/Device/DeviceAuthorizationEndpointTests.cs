using System.Net;
using System.Text.RegularExpressions;
using IdentityServer.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Device;

/// <summary>RFC 8628 §3.1–§3.2: the device authorization endpoint (its discovery metadata is asserted in DiscoveryTests).</summary>
public sealed partial class DeviceAuthorizationEndpointTests(IdentityServerFactory factory) : IClassFixture<IdentityServerFactory>
{
    private readonly DeviceDriver _d = new(factory);

    [GeneratedRegex("^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$")]
    private static partial Regex UserCodeShape();

    [Fact]
    public async Task PublicClient_ReturnsCodesUrisLifetimeAndInterval()
    {
        var r = await _d.AuthorizeDeviceAsync();
        var json = await Json.OkAsync(r);
        Assert.Contains("no-store", r.Headers.CacheControl!.ToString());
        Assert.Equal("application/json", r.Content.Headers.ContentType!.MediaType);

        var deviceCode = json.Str("device_code");
        Assert.Equal(43, deviceCode.Length); // 32 random bytes, base64url: 256 bits
        var userCode = json.Str("user_code");
        Assert.Matches(UserCodeShape(), userCode);
        Assert.Equal(Issuer + "/device", json.Str("verification_uri"));
        Assert.Equal(Issuer + "/device?user_code=" + userCode, json.Str("verification_uri_complete"));
        Assert.Equal(600, json.GetProperty("expires_in").GetInt32());
        Assert.Equal(5, json.GetProperty("interval").GetInt32());
    }

    [Fact]
    public async Task BehindAProxy_TheVerificationUrisAreUnderTheIssuer_NotTheInternalHostName()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/deviceauthorization")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["client_id"] = DeviceClient, ["scope"] = "openid" }),
        };
        request.Headers.Host = "idp-internal:8080";
        var json = await Json.OkAsync(await _d.Device.SendAsync(request));
        Assert.Equal(Issuer + "/device", json.Str("verification_uri"));
        Assert.Equal(Issuer + "/device?user_code=" + json.Str("user_code"), json.Str("verification_uri_complete"));
    }

    [Fact]
    public async Task IssuedCodes_AreStoredOnlyAsHashes()
    {
        var json = await _d.StartAsync();
        var deviceCode = json.Str("device_code");
        var userCode = json.Str("user_code");

        using var connection = TestDatabase.Open(factory.Provider, factory.Database);
        var tables = TestDatabase.Tables(connection);
        Assert.Contains("OpenIddictTokens", tables);
        var tokenRows = 0;
        foreach (var table in tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM \"{table}\"";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                if (table == "OpenIddictTokens") tokenRows++;
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    var value = reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i))!;
                    Assert.DoesNotContain(deviceCode, value);
                    Assert.DoesNotContain(userCode.Replace("-", ""), value.ToUpperInvariant());
                    Assert.DoesNotContain(userCode, value);
                }
            }
        }
        Assert.True(tokenRows >= 2); // the device code and the user code, each as a hashed reference
    }

    [Fact]
    public async Task UserCodes_DistinctAcrossRequests_EveryLetterOfTheAlphabetInUse()
    {
        var codes = new HashSet<string>();
        for (var i = 0; i < 100; i++) Assert.True(codes.Add((await _d.StartAsync()).Str("user_code")));
        Assert.All(codes, c => Assert.Matches(UserCodeShape(), c));
        // 800 draws from 20 letters: every letter turns up unless the generator is skewed.
        Assert.Equal(IdentityServer.Protocol.UserCode.Alphabet.Order(), codes.SelectMany(c => c.Replace("-", "")).Distinct().Order());
    }

    [Fact]
    public async Task ConfidentialClient_WithBasicAuthentication_Succeeds()
    {
        var json = await _d.StartAsync(DeviceTvClient, DeviceTvSecret, "openid profile");
        Assert.Equal(43, json.Str("device_code").Length);
    }

    [Fact]
    public async Task ConfidentialClient_WrongSecret_InvalidClient401()
    {
        var r = await _d.AuthorizeDeviceAsync(DeviceTvClient, "wrong-secret-0123456789-0123456789-0123456789", "openid");
        await Json.ErrorAsync(r, HttpStatusCode.Unauthorized, "invalid_client");
        Assert.NotEmpty(r.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task ConfidentialClient_WithoutSecret_InvalidClient401()
    {
        await Json.ErrorAsync(await _d.AuthorizeDeviceAsync(DeviceTvClient, null, "openid"), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task UnknownClient_InvalidClient401()
    {
        await Json.ErrorAsync(await _d.AuthorizeDeviceAsync("nobody"), HttpStatusCode.Unauthorized, "invalid_client");
    }

    [Fact]
    public async Task ClientWithoutDeviceGrant_UnauthorizedClient()
    {
        var r = await _d.AuthorizeDeviceAsync(IdentityServerFactory.WebClient, WebSecret, "openid");
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "unauthorized_client");
    }

    [Theory]
    [InlineData("openid email")] // email is not registered for the client
    [InlineData("openid unknown-scope")]
    [InlineData("profile")] // identity scope without openid
    [InlineData("openid \"quoted\"")]
    public async Task BadScope_InvalidScope(string scope)
    {
        await Json.ErrorAsync(await _d.AuthorizeDeviceAsync(scope: scope), HttpStatusCode.BadRequest, "invalid_scope");
    }

    [Fact]
    public async Task RepeatedParameter_InvalidRequest()
    {
        var r = await _d.Device.PostAsync("/connect/deviceauthorization", new FormUrlEncodedContent(
        [
            new("client_id", DeviceClient), new("scope", "openid"), new("scope", "openid profile"),
        ]));
        await Json.ErrorAsync(r, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task Get_IsNotAllowed()
    {
        var r = await _d.Device.GetAsync("/connect/deviceauthorization?client_id=" + DeviceClient);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
    }
}
