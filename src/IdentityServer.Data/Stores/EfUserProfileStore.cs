using IdentityServer.Protocol.Stores;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Data.Stores;

/// <summary>End-user claims from the Identity tables; a locked-out or deleted user yields null.</summary>
public sealed class EfUserProfileStore(IdentityServerDbContext db, TimeProvider time) : IUserProfileStore
{
    /// <inheritdoc />
    public async Task<UserProfile?> FindActiveAsync(string subjectId, CancellationToken ct = default)
    {
        var u = await db.Users.AsNoTracking().FirstOrDefaultAsync(x => x.Id == subjectId, ct);
        if (u is null) return null;
        if (u.LockoutEnabled && u.LockoutEnd is { } end && end > time.GetUtcNow()) return null;
        return new UserProfile(u.Id, u.UserName ?? u.Id, u.DisplayName, u.Email, u.EmailConfirmed);
    }
}
