using IdentityServer.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Hosting;

/// <summary>The signing key and the Data Protection key ring live in the database: a restart keeps both.</summary>
public sealed class SigningKeyPersistenceTests
{
    [Fact]
    public async Task Restart_SameKeySigns_AndEarlierTokensStillValidate()
    {
        var path = TestDatabase.NewName(TestDatabase.Provider);
        try
        {
            string before;
            string kid;
            using (var first = new IdentityServerFactory { Database = path, OwnsDatabase = false })
            {
                var d = new OidcDriver(first.CreateBrowser());
                before = (await Json.OkAsync(await d.TokenAsync(new() { ["grant_type"] = "client_credentials" }, ServiceClient, ServiceSecret))).Str("access_token");
                kid = new JsonWebToken(before).Kid;
            }
            using var second = new IdentityServerFactory { Database = path, OwnsDatabase = false };
            var d2 = new OidcDriver(second.CreateBrowser());
            var after = (await Json.OkAsync(await d2.TokenAsync(new() { ["grant_type"] = "client_credentials" }, ServiceClient, ServiceSecret))).Str("access_token");
            Assert.Equal(kid, new JsonWebToken(after).Kid);

            var jwks = new JsonWebKeySet(await d2.Http.GetStringAsync("/.well-known/jwks.json"));
            var result = await new JsonWebTokenHandler().ValidateTokenAsync(before, new TokenValidationParameters
            {
                ValidIssuer = Issuer, ValidAudience = ApiAudience, IssuerSigningKeys = jwks.Keys, ValidTypes = ["at+jwt"],
            });
            Assert.True(result.IsValid, result.Exception?.Message);
        }
        finally { TestDatabase.Delete(TestDatabase.Provider, path); }
    }
}
