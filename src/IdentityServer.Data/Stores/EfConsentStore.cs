using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Stores;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data.Stores;

/// <summary>Remembered consents in EF Core, one row per user and client.</summary>
public sealed class EfConsentStore(IdentityServerDbContext db) : IConsentStore
{
    /// <inheritdoc />
    public async Task<IReadOnlySet<string>> GetConsentedScopesAsync(string subjectId, string clientId, CancellationToken ct = default)
    {
        var c = await db.Consents.AsNoTracking().FirstOrDefaultAsync(x => x.SubjectId == subjectId && x.ClientId == clientId, ct);
        return (c?.Scopes ?? []).ToHashSet(StringComparer.Ordinal);
    }

    /// <inheritdoc />
    /// <remarks>Two concurrent grants for the same user and client (a double click) race on the row's key: the loser retries once as an update.</remarks>
    public async Task GrantConsentAsync(string subjectId, string clientId, IEnumerable<string> scopes, DateTimeOffset now, CancellationToken ct = default)
    {
        var list = scopes.ToList();
        try { await UpsertAsync(subjectId, clientId, list, now, ct); }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            await UpsertAsync(subjectId, clientId, list, now, ct);
        }
    }

    private async Task UpsertAsync(string subjectId, string clientId, List<string> scopes, DateTimeOffset now, CancellationToken ct)
    {
        var c = await db.Consents.FirstOrDefaultAsync(x => x.SubjectId == subjectId && x.ClientId == clientId, ct);
        if (c is null)
        {
            c = new ConsentEntity { SubjectId = subjectId, ClientId = clientId };
            db.Consents.Add(c);
        }
        c.Scopes = c.Scopes.Union(scopes, StringComparer.Ordinal).ToList();
        c.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
    }
}
