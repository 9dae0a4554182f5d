using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Account;

/// <summary>The end-users who may still sign in and receive tokens, and what the protocol tells about them (OpenID Connect Core §5.1).</summary>
public sealed class ActiveUsers(IdentityServerDbContext db, TimeProvider time)
{
    /// <summary>The profile of <paramref name="subjectId"/>, or null when the user was deleted or is locked out.</summary>
    public async Task<UserProfile?> FindActiveAsync(string subjectId, CancellationToken ct = default)
    {
        var u = await db.Users.AsNoTracking().FirstOrDefaultAsync(x => x.Id == subjectId, ct);
        if (u is null) return null;
        if (u.LockoutEnabled && u.LockoutEnd is { } end && end > time.GetUtcNow()) return null;
        return new UserProfile(u.Id, u.UserName ?? u.Id, u.DisplayName, u.Email, u.EmailConfirmed);
    }
}

/// <summary>Claims of an end-user (OpenID Connect Core §5.1).</summary>
/// <param name="SubjectId">The <c>sub</c>: stable, never reassigned.</param>
/// <param name="PreferredUsername">The <c>preferred_username</c>.</param>
/// <param name="Name">The <c>name</c>; null when unknown.</param>
/// <param name="Email">The <c>email</c>; null when unknown.</param>
/// <param name="EmailVerified">The <c>email_verified</c>.</param>
public sealed record UserProfile(string SubjectId, string PreferredUsername, string? Name, string? Email, bool EmailVerified);
