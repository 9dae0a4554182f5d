using IdentityServer.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data;

/// <summary>
/// A named lease in the database, so a periodic job runs once per period however many nodes share the database: taking
/// the lease is one conditional update (<c>… WHERE ExpiresAt &lt;= now</c>); the node whose update changed the row holds it
/// until the period ends.
/// </summary>
public static class Lease
{
    /// <summary>Takes the lease <paramref name="name"/> for <paramref name="holder"/> until <paramref name="until"/> if it is free at <paramref name="now"/>; true for the one taker.</summary>
    public static async Task<bool> TryTakeAsync(IdentityServerDbContext db, string name, string holder, DateTimeOffset now, DateTimeOffset until, CancellationToken ct)
    {
        if (!await db.Leases.AnyAsync(l => l.Name == name, ct))
        {
            var entry = db.Leases.Add(new LeaseEntity { Name = name, ExpiresAt = DateTimeOffset.UnixEpoch });
            try { await db.SaveChangesAsync(ct); }
            catch (DbUpdateException) { /* another node created it: the update below decides */ }
            finally { entry.State = EntityState.Detached; }
        }
        return await db.Leases.Where(l => l.Name == name && l.ExpiresAt <= now)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.Holder, holder).SetProperty(l => l.ExpiresAt, until), ct) == 1;
    }
}
