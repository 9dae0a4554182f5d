using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Audit;

namespace IdentityServer.Audit;

/// <summary>
/// <see cref="IAuditLog"/> on the database. Each record is saved on a DbContext of its own, so it neither saves nor
/// clears whatever the request's context is tracking; the caller's address comes from the current request (after
/// forwarded headers). Reasons are cut to 500 characters.
/// </summary>
public sealed class AuditLog(IServiceScopeFactory scopes, IHttpContextAccessor http, TimeProvider time) : IAuditLog
{
    /// <inheritdoc />
    public async Task RecordAsync(AuditEntry entry, CancellationToken cancellationToken = default)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        db.AuditEvents.Add(new AuditEventEntity
        {
            At = time.GetUtcNow(), Event = entry.Event, ActorType = entry.ActorType, ActorId = entry.ActorId,
            SubjectType = entry.SubjectType, SubjectId = entry.SubjectId,
            Reason = entry.Reason is { Length: > 500 } r ? r[..500] : entry.Reason,
            Before = entry.Before, After = entry.After,
            Address = http.HttpContext?.Connection.RemoteIpAddress?.ToString(),
        });
        await db.SaveChangesAsync(cancellationToken);
    }
}
