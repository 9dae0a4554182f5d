using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace IdentityServer.Account;

/// <summary>
/// An atomic per-account budget of unresolved and failed sign-in attempts, taken before a password or second-factor code is checked,
/// so that parallel guesses on any number of nodes cannot outrun the lockout (ASVS 5.0 6.3.1; NIST SP 800-63B §5.2.2 limits failed
/// attempts per account). ASP.NET Identity's own lockout counts failures with an optimistic concurrency check: of guesses that race,
/// most are checked but not counted. Here every attempt first takes one place in a database count (<see cref="AttemptCounts"/>, key
/// <c>signin-user:{id}</c>); a check that succeeds gives its place back (<see cref="GiveBackAsync"/>), a completed sign-in clears the
/// count (<see cref="ResetAsync(ApplicationUser)"/>). So at most <see cref="LockoutOptions.MaxFailedAccessAttempts"/> wrong guesses are ever checked
/// within <see cref="LockoutOptions.DefaultLockoutTimeSpan"/>, however they race; past that the account is locked out (Identity's
/// lockout end is set to the window's end, so administration shows it) and attempts are refused unchecked.
/// </summary>
public sealed class SignInAttempts(IdentityServerDbContext db, UserManager<ApplicationUser> users, IOptions<IdentityOptions> identity, TimeProvider time)
{
    private static string Key(string userId) => "signin-user:" + userId;

    /// <summary>
    /// Takes one place for <paramref name="user"/>: the start of the window it was taken in, to give it back with. Null, answered as
    /// locked out, when Identity's lockout is on (checked first; no place is taken) or when the budget of the window is spent (the
    /// account's lockout end is then set to a full lockout from now, or the window's end if later).
    /// </summary>
    /// <exception cref="DbUpdateException">The count could not be written.</exception>
    public async Task<DateTimeOffset?> TryTakeAsync(ApplicationUser user, CancellationToken ct)
    {
        if (await users.IsLockedOutAsync(user)) return null;
        var lockout = identity.Value.Lockout;
        var window = (int)lockout.DefaultLockoutTimeSpan.TotalSeconds;
        var (count, start) = await AttemptCounts.AddAsync(db, Key(user.Id), window, time, ct);
        if (count <= lockout.MaxFailedAccessAttempts) return start;
        var end = start.AddSeconds(window);
        var full = time.GetUtcNow() + lockout.DefaultLockoutTimeSpan;
        if (full > end) end = full;
        // Best effort: a concurrent request may have saved the user first (Identity then reports a concurrency failure); the budget
        // refuses the attempt either way.
        if (await users.GetLockoutEndDateAsync(user) is not { } current || current < end) await users.SetLockoutEndDateAsync(user, end);
        return null;
    }

    /// <summary>
    /// Gives back the place taken in the window that started at <paramref name="windowStart"/>, after its check succeeded (a right
    /// password before its second step, for instance). A place from an earlier window is not given back into a later one. Not
    /// cancellable: a client that hangs up after a right answer must not leave the place taken.
    /// </summary>
    public Task GiveBackAsync(ApplicationUser user, DateTimeOffset windowStart) =>
        db.ClientAuthenticationFailures.Where(f => f.Key == Key(user.Id) && f.WindowStart == windowStart && f.Count > 0)
            .ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, f => f.Count - 1), CancellationToken.None);

    /// <summary>Clears the count: after a completed sign-in, and when an administrator unlocks the account.</summary>
    public static Task ResetAsync(IdentityServerDbContext db, string userId) =>
        db.ClientAuthenticationFailures.Where(f => f.Key == Key(userId)).ExecuteDeleteAsync(CancellationToken.None);

    /// <summary>Clears the count after a completed sign-in.</summary>
    public Task ResetAsync(ApplicationUser user) => ResetAsync(db, user.Id);
}
