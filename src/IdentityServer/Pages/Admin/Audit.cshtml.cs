using IdentityServer.Admin;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Admin;

/// <summary>The audit log, newest first, filtered by actor id, subject id, event and time (UTC dates).</summary>
public sealed class AuditModel(AuditQuery audit) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? ActorId { get; set; }
    [BindProperty(SupportsGet = true)] public string? Subject { get; set; }
    [BindProperty(SupportsGet = true)] public string? Event { get; set; }
    [BindProperty(SupportsGet = true)] public DateTime? From { get; set; }
    [BindProperty(SupportsGet = true)] public DateTime? To { get; set; }
    public IReadOnlyList<AuditRecord> Records { get; private set; } = [];

    /// <summary>Runs the query.</summary>
    public async Task OnGetAsync()
    {
        DateTimeOffset? Utc(DateTime? d) => d is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
        // Dates from the form are whole days: "To" includes its day.
        Records = await audit.FindAsync(ActorId, Subject, Event, Utc(From), Utc(To?.Date.AddDays(1)), ct: HttpContext.RequestAborted);
    }
}
