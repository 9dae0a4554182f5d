using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Stores;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data.Stores;

/// <summary>
/// Device authorizations in EF Core. Each state change is one <c>UPDATE … WHERE</c> on the expected old state through
/// <c>ExecuteUpdateAsync</c>, so the database picks the one winner across requests and nodes.
/// </summary>
public sealed class EfDeviceCodeStore(IdentityServerDbContext db) : IDeviceCodeStore
{
    private static readonly string Pending = DeviceCodeStatus.Pending.ToString();
    private static readonly string Approved = DeviceCodeStatus.Approved.ToString();

    /// <inheritdoc />
    /// <remarks>The unique index on the user code hash decides a collision, also between nodes.</remarks>
    public async Task<bool> TryCreateAsync(DeviceCodeRecord r, CancellationToken ct = default)
    {
        db.DeviceCodes.Add(new DeviceCodeEntity
        {
            Id = r.Id, DeviceCodeHash = r.DeviceCodeHash, UserCodeHash = r.UserCodeHash, ClientId = r.ClientId, Scopes = [.. r.Scopes],
            CreatedAt = r.CreatedAt, ExpiresAt = r.ExpiresAt, IntervalSeconds = r.IntervalSeconds, Status = r.Status.ToString(),
        });
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException)
        {
            if (await db.DeviceCodes.AsNoTracking().AnyAsync(x => x.UserCodeHash == r.UserCodeHash, ct)) return false;
            throw;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    /// <inheritdoc />
    public Task<DeviceCodeRecord?> FindByDeviceCodeHashAsync(string deviceCodeHash, CancellationToken ct = default) =>
        FindAsync(x => x.DeviceCodeHash == deviceCodeHash, ct);

    /// <inheritdoc />
    public Task<DeviceCodeRecord?> FindByUserCodeHashAsync(string userCodeHash, CancellationToken ct = default) =>
        FindAsync(x => x.UserCodeHash == userCodeHash, ct);

    /// <inheritdoc />
    public Task<DeviceCodeRecord?> FindByIdAsync(string id, CancellationToken ct = default) =>
        FindAsync(x => x.Id == id, ct);

    /// <inheritdoc />
    public async Task<bool> TryRecordPollAsync(string id, DateTimeOffset? previousPoll, DateTimeOffset now, CancellationToken ct = default) =>
        await db.DeviceCodes.Where(x => x.Id == id && x.LastPolledAt == previousPoll)
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.LastPolledAt, now), ct) == 1;

    /// <inheritdoc />
    public async Task SlowDownAsync(string id, int previousIntervalSeconds, int newIntervalSeconds, DateTimeOffset now, CancellationToken ct = default) =>
        await db.DeviceCodes.Where(x => x.Id == id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.LastPolledAt, now)
                .SetProperty(x => x.IntervalSeconds, x => x.IntervalSeconds == previousIntervalSeconds ? newIntervalSeconds : x.IntervalSeconds), ct);

    /// <inheritdoc />
    public async Task<bool> TryApproveAsync(string id, DeviceApproval a, DateTimeOffset now, CancellationToken ct = default)
    {
        var amr = a.Amr.ToList();
        return await db.DeviceCodes.Where(x => x.Id == id && x.Status == Pending && x.ExpiresAt > now)
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Status, Approved)
                .SetProperty(x => x.SubjectId, a.SubjectId)
                .SetProperty(x => x.AuthTime, a.AuthTime)
                .SetProperty(x => x.Amr, amr)
                .SetProperty(x => x.DecidedAt, now), ct) == 1;
    }

    /// <inheritdoc />
    public async Task<bool> TryDenyAsync(string id, DateTimeOffset now, CancellationToken ct = default) =>
        await db.DeviceCodes.Where(x => x.Id == id && x.Status == Pending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Status, DeviceCodeStatus.Denied.ToString())
                .SetProperty(x => x.DecidedAt, now), ct) == 1;

    /// <inheritdoc />
    public async Task<bool> TryRedeemAsync(string id, DateTimeOffset now, CancellationToken ct = default) =>
        await db.DeviceCodes.Where(x => x.Id == id && x.Status == Approved)
            .ExecuteUpdateAsync(s => s
                .SetProperty(x => x.Status, DeviceCodeStatus.Redeemed.ToString())
                .SetProperty(x => x.RedeemedAt, now), ct) == 1;

    private async Task<DeviceCodeRecord?> FindAsync(System.Linq.Expressions.Expression<Func<DeviceCodeEntity, bool>> predicate, CancellationToken ct)
    {
        var e = await db.DeviceCodes.AsNoTracking().FirstOrDefaultAsync(predicate, ct);
        if (e is null) return null;
        var status = Enum.Parse<DeviceCodeStatus>(e.Status);
        var approval = e.SubjectId is not null && e.AuthTime is { } at ? new DeviceApproval(e.SubjectId, at, e.Amr) : null;
        return new DeviceCodeRecord(e.Id, e.DeviceCodeHash, e.UserCodeHash, e.ClientId, e.Scopes, e.CreatedAt, e.ExpiresAt,
            e.IntervalSeconds, e.LastPolledAt, status, approval, e.DecidedAt, e.RedeemedAt);
    }
}
