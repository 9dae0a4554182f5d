using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Keys;
using IdentityServer.Options;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace IdentityServer.Hosting;

/// <summary>
/// The two probes a load balancer or orchestrator asks (the Kubernetes and Docker conventions, as Keycloak serves them):
/// <list type="bullet">
/// <item><c>GET /health/live</c>: 200 <c>{"status":"Healthy"}</c> while the process serves requests; no dependency is checked, so a
/// database outage does not get every node restarted.</item>
/// <item><c>GET /health/ready</c>: 200 when <see cref="ReadinessCheck"/> passes, else 503 <c>{"status":"Unhealthy","checks":{…}}</c>
/// naming the failed check; a proxy sends no traffic to a node that is not ready.</item>
/// </list>
/// Both are served over plain http too (probes talk to the node, not to the issuer) and are never cached.
/// </summary>
public static class Health
{
    /// <summary>The liveness path.</summary>
    public const string LivePath = "/health/live";

    /// <summary>The readiness path.</summary>
    public const string ReadyPath = "/health/ready";

    private const string ReadyTag = "ready";

    /// <summary>Registers <see cref="ReadinessCheck"/>.</summary>
    public static void AddHealth(this IServiceCollection services) =>
        services.AddHealthChecks().AddCheck<ReadinessCheck>("storage", tags: [ReadyTag]);

    /// <summary>Maps both probes.</summary>
    public static void MapHealth(this WebApplication app)
    {
        app.MapHealthChecks(LivePath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        app.MapHealthChecks(ReadyPath, new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
    }

    /// <summary>Whether <paramref name="path"/> is one of the two probes (compared as ASP.NET routes compare: without case).</summary>
    public static bool IsProbe(PathString path) =>
        path.Equals(LivePath, StringComparison.OrdinalIgnoreCase) || path.Equals(ReadyPath, StringComparison.OrdinalIgnoreCase);

    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        var body = new Dictionary<string, object> { ["status"] = report.Status.ToString() };
        if (report.Entries.Count > 0)
            body["checks"] = report.Entries.ToDictionary(e => e.Key, e => new { status = e.Value.Status.ToString(), description = e.Value.Description });
        return context.Response.WriteAsync(JsonSerializer.Serialize(body));
    }
}

/// <summary>
/// Ready means the node can issue tokens: it is not stopping (from SIGTERM on it answers 503, so the proxy stops sending it new
/// requests while those in flight finish), the database answers, no migration is pending (a node of a newer release waits until
/// <c>migrate</c> ran), and a signing key is active now. Each failure is reported as Unhealthy with a one-line reason; the exception
/// detail goes to the log only.
/// </summary>
public sealed class ReadinessCheck(IdentityServerDbContext db, IdentityServerOptions options, TimeProvider time, IHostApplicationLifetime lifetime,
    ILogger<ReadinessCheck> logger) : IHealthCheck
{
    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested) return HealthCheckResult.Unhealthy("The node is stopping.");
        try
        {
            if (!await db.Database.CanConnectAsync(ct)) return HealthCheckResult.Unhealthy("The database does not answer.");
            if ((await db.Database.GetPendingMigrationsAsync(ct)).Any()) return HealthCheckResult.Unhealthy("Database migrations are pending: run migrate.");
            var now = time.GetUtcNow();
            var keys = await db.SigningKeys.AsNoTracking().Where(k => k.WithdrawnAt == null && k.ActivatedAt != null).ToListAsync(ct);
            if (!keys.Any(k => KeyStates.Of(k, now, options.Keys.RetiredPublishedDays) == KeyState.Active))
                return HealthCheckResult.Unhealthy("No signing key is active.");
            return HealthCheckResult.Healthy("The database answers, its schema is current and a signing key is active.");
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            logger.LogWarning(e, "Readiness check failed");
            return HealthCheckResult.Unhealthy("The database could not be read.");
        }
    }
}
