using System.Text.Json.Serialization;
using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Admin;

/// <summary>Reads the audit log for the admin UI and API: filters by actor, subject, event and time; newest first.</summary>
public sealed class AuditQuery(IdentityServerDbContext db)
{
    /// <summary>At most this many records per query.</summary>
    public const int MaxResults = 500;

    /// <summary>Records matching every given filter (exact actor id, subject id and event name; <paramref name="from"/> inclusive, <paramref name="to"/> exclusive).</summary>
    public async Task<IReadOnlyList<AuditRecord>> FindAsync(string? actor = null, string? subject = null, string? auditEvent = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, int limit = 200, CancellationToken ct = default)
    {
        var q = db.AuditEvents.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(actor)) q = q.Where(e => e.ActorId == actor);
        if (!string.IsNullOrWhiteSpace(subject)) q = q.Where(e => e.SubjectId == subject);
        if (!string.IsNullOrWhiteSpace(auditEvent)) q = q.Where(e => e.Event == auditEvent);
        if (from is { } f) q = q.Where(e => e.At >= f);
        if (to is { } t) q = q.Where(e => e.At < t);
        var rows = await q.OrderByDescending(e => e.Id).Take(Math.Clamp(limit, 1, MaxResults)).ToListAsync(ct);
        return rows.Select(e => new AuditRecord(e.Id, e.At, e.Event, e.ActorType, e.ActorId, e.SubjectType, e.SubjectId, e.Reason, e.Before, e.After, e.Address)).ToList();
    }
}

/// <summary>One audit record as admins read it.</summary>
public sealed record AuditRecord(
    [property: JsonPropertyName("id")] long Id,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("event")] string Event,
    [property: JsonPropertyName("actor_type")] string ActorType,
    [property: JsonPropertyName("actor_id")] string? ActorId,
    [property: JsonPropertyName("subject_type")] string? SubjectType,
    [property: JsonPropertyName("subject_id")] string? SubjectId,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("before")] string? Before,
    [property: JsonPropertyName("after")] string? After,
    [property: JsonPropertyName("address")] string? Address);
