using System.Net;
using System.Text;
using System.Text.Json;
using IdentityServer.Tests.Infrastructure;

namespace IdentityServer.Tests.Operations;

/// <summary>Stopping a real server process, and its log format.</summary>
public class ShutdownAndLoggingTests
{
    private const string Service = "svc";
    private const string ServiceSecret = "svc-secret-0123456789-0123456789-0123456789";

    /// <summary>A form body sent in two parts: the second only once <see cref="Release"/> is called.</summary>
    private sealed class SlowForm(string first, string second) : HttpContent
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource FirstSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public void Release() => _release.TrySetResult();

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(first));
            await stream.FlushAsync();
            FirstSent.TrySetResult();
            await _release.Task;
            await stream.WriteAsync(Encoding.ASCII.GetBytes(second));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = first.Length + second.Length;
            return true;
        }
    }

    [Fact]
    public async Task Sigterm_FinishesTheRequestInFlight_ThenExitsCleanly_WithJsonLogLines()
    {
        var server = await ServerProcess.StartAsync(new Dictionary<string, string?>
        {
            ["IdentityServer__Clients__1__ClientId"] = Service,
            ["IdentityServer__Clients__1__ClientSecret"] = ServiceSecret,
            ["IdentityServer__Clients__1__GrantTypes__0"] = "client_credentials",
            ["IdentityServer__Clients__1__Scopes__0"] = "api1",
            ["Logging__Console__FormatterName"] = "json",
            ["Logging__LogLevel__Default"] = "Information",
            ["Logging__LogLevel__OpenIddict"] = "Warning",
        });
        try
        {
            var body = new SlowForm("grant_type=client_credentials&client_id=" + Service, "&client_secret=" + ServiceSecret);
            body.Headers.ContentType = new("application/x-www-form-urlencoded");
            var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token") { Content = body };
            request.Headers.Add("X-Forwarded-Proto", "https");
            var inFlight = server.Http.SendAsync(request);
            await body.FirstSent.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await Task.Delay(300); // the server has the request and waits for the rest of its body

            server.Terminate();
            await Task.Delay(1000); // shutdown has begun: the listener stops taking new connections
            body.Release();
            var response = await inFlight.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.TryGetProperty("access_token", out _));

            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            Assert.NotEmpty(lines);
            foreach (var line in lines)
            {
                var entry = JsonDocument.Parse(line).RootElement; // every line is one JSON object
                Assert.True(entry.TryGetProperty("LogLevel", out _) && entry.TryGetProperty("Category", out _), line);
            }
            Assert.Contains(lines, l => l.Contains("Application is shutting down"));
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
