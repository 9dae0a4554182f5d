using System.Net;
using System.Text.Json;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Operations;

/// <summary>The liveness and readiness probes (<c>/health/live</c>, <c>/health/ready</c>).</summary>
public class HealthTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(HttpClient http, string path)
    {
        var response = await http.GetAsync(path);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        return (response.StatusCode, body, response);
    }

    [Fact]
    public async Task BothProbes_AnswerJsonOverPlainHttp_EvenWithAnHttpsIssuer()
    {
        using var factory = new IdentityServerFactory();
        var http = factory.CreateClient(new() { BaseAddress = new Uri("http://node.internal:8080"), AllowAutoRedirect = false });

        var live = await GetAsync(http, "/health/live");
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("Healthy", live.Body.GetProperty("status").GetString());
        Assert.Equal("application/json", live.Response.Content.Headers.ContentType?.MediaType);

        var ready = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("Healthy", ready.Body.GetProperty("checks").GetProperty("storage").GetProperty("status").GetString());
        Assert.True(ready.Response.Headers.CacheControl?.NoStore == true || ready.Response.Headers.CacheControl?.NoCache == true);
    }

    [Fact]
    public async Task Ready_IsUnavailable_WhenNoSigningKeyIsActive()
    {
        using var factory = new IdentityServerFactory();
        var http = factory.CreateBrowser();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        // Every key withdrawn (as an operator might by hand after a leak, before a new one is made).
        using (var connection = TestDatabase.Open(factory.Provider, factory.Database))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE \"SigningKeys\" SET \"WithdrawnAt\" = \"CreatedAt\"";
            Assert.True(command.ExecuteNonQuery() > 0);
        }

        var ready = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.Status);
        Assert.Equal("Unhealthy", ready.Body.GetProperty("status").GetString());
        Assert.Contains("signing key", ready.Body.GetProperty("checks").GetProperty("storage").GetProperty("description").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
    }

    [OncePerRunFact]
    public async Task Ready_Is503WhilePostgreSqlIsStopped_And200AgainOnceItIsBack()
    {
        await using var cluster = await PostgresCluster.StartAsync();
        using var factory = new IdentityServerFactory { Provider = "PostgreSql", OwnsDatabase = false, ConnectionString = cluster.ConnectionString("idsrv_health") };
        var http = factory.CreateBrowser();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);

        await cluster.HaltAsync();
        var down = await GetAsync(http, "/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.Status);
        Assert.Equal("Unhealthy", down.Body.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);

        await cluster.ResumeAsync();
        // Connections the pool held died with the old server; the first checks after the restart may still meet one.
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 20 && status != HttpStatusCode.OK; i++)
        {
            status = (await http.GetAsync("/health/ready")).StatusCode;
            if (status != HttpStatusCode.OK) await Task.Delay(250);
        }
        Assert.Equal(HttpStatusCode.OK, status);
    }
}
