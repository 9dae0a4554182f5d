using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using IdentityServer.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace IdentityServer.Hosting;

/// <summary>
/// OpenTelemetry: metrics from ASP.NET Core (<c>http.server.request.duration</c>, …), the .NET runtime (GC, thread pool) and
/// <see cref="ServerMetrics"/>, served for Prometheus at <c>GET /metrics</c> (see <see cref="MetricsOptions"/> for who may read it);
/// and, when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, metrics and ASP.NET Core traces exported over OTLP as OpenTelemetry's
/// environment variables say (the standard <c>OTEL_*</c> set). Without that variable no trace is recorded.
/// </summary>
public static class Telemetry
{
    /// <summary>The scrape path.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Registers the meter providers and <see cref="ServerMetrics"/>.</summary>
    public static void AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddMetrics();
        services.AddSingleton<ServerMetrics>();
        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(configuration["OTEL_SERVICE_NAME"] ?? "identityserver"))
            .WithMetrics(m =>
            {
                m.AddAspNetCoreInstrumentation().AddRuntimeInstrumentation().AddMeter(ServerMetrics.MeterName).AddPrometheusExporter();
                if (otlp) m.AddOtlpExporter();
            });
        if (otlp) telemetry.WithTracing(t => t.AddAspNetCoreInstrumentation(o => o.Filter = c => !IsOperational(c.Request.Path)).AddOtlpExporter());
    }

    /// <summary>Maps <c>/metrics</c> behind the access rule, and times every request for <c>idsrv.request.duration</c>.</summary>
    public static void UseTelemetry(this WebApplication app)
    {
        var metrics = app.Services.GetRequiredService<ServerMetrics>();
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try { await next(context); }
            finally { metrics.RequestDone(EndpointOf(context.Request.Path), Stopwatch.GetElapsedTime(started).TotalSeconds); }
        });
        var options = app.Services.GetRequiredService<IdentityServerOptions>().Metrics;
        if (!options.Enabled) return;
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider: null, predicate: c => c.Request.Path == MetricsPath, path: null,
            configureBranchedPipeline: b => b.Use((context, next) => MayScrape(context, options) is { } refusal ? refusal : next(context)), optionsName: null);
    }

    /// <summary>Whether <paramref name="path"/> is the scrape path or a probe: served over plain http too, and not traced.</summary>
    public static bool IsOperational(PathString path) => path.StartsWithSegments(MetricsPath) || Health.IsProbe(path);

    /// <summary>Null when the caller may read the metrics; else the refusal written (401 or 403, RFC 6750 §3).</summary>
    private static Task? MayScrape(HttpContext context, MetricsOptions options)
    {
        if (context.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address)) return null;
        var response = context.Response;
        if (options.BearerToken is not { } expected || string.IsNullOrWhiteSpace(expected))
        {
            response.StatusCode = StatusCodes.Status403Forbidden;
            return response.WriteAsync("Metrics are served to loopback callers only.\n");
        }
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(header[7..].Trim())), SHA256.HashData(Encoding.UTF8.GetBytes(expected.Trim()))))
            return null;
        response.StatusCode = StatusCodes.Status401Unauthorized;
        // No credentials: the bare challenge; wrong ones: invalid_token (RFC 6750 §3, §3.1).
        response.Headers.WWWAuthenticate = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? "Bearer realm=\"metrics\", error=\"invalid_token\"" : "Bearer realm=\"metrics\"";
        return Task.CompletedTask;
    }

    /// <summary>The endpoint tag of <paramref name="path"/>: one of a fixed set, so unknown paths cannot add series.</summary>
    private static string EndpointOf(PathString path) => path.Value switch
    {
        "/connect/token" => "token",
        "/connect/authorize" => "authorize",
        "/connect/userinfo" => "userinfo",
        "/connect/deviceauthorization" => "device_authorization",
        "/connect/introspect" => "introspect",
        "/connect/revocation" => "revocation",
        "/connect/endsession" => "endsession",
        "/.well-known/openid-configuration" => "discovery",
        "/.well-known/jwks.json" => "jwks",
        _ when path.StartsWithSegments("/account") => "account",
        _ when path.StartsWithSegments("/device") => "device",
        _ when path.StartsWithSegments("/admin") => "admin",
        _ when IsOperational(path) => "operations",
        _ => "other",
    };
}
