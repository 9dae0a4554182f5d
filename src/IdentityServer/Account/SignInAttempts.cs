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
/// count (<see cref="ResetAsync"/>). So at most <see cref="LockoutOptions.MaxFailedAccessAttempts"/> wrong guesses are ever checked
/// within <see cref="LockoutOptions.DefaultLockoutTimeSpan"/>, however they race; past that the account is locked out (Identity's
/// lockout end is set to the window's end, so administration shows it) and attempts are refused unchecked.
/// </summary>
public sealed class SignInAttempts(IdentityServerDbContext db, UserManager<ApplicationUser> users, IOptions<IdentityOptions> identity, TimeProvider time)
{
    private static string Key(string userId) => "signin-user:" + userId;

    /// <summary>
    /// Takes one place for <paramref name="user"/>: false when the budget of the window is spent (answer as locked out; the account's
    /// lockout end is then set to the window's end).
    /// </summary>
    /// <exception cref="DbUpdateException">The count could not be written.</exception>
    public async Task<bool> TryTakeAsync(ApplicationUser user, CancellationToken ct)
    {
        var lockout = identity.Value.Lockout;
        var window = (int)lockout.DefaultLockoutTimeSpan.TotalSeconds;
        var (count, start) = await AttemptCounts.AddAsync(db, Key(user.Id), window, time, ct);
        if (count <= lockout.MaxFailedAccessAttempts) return true;
        var end = start.AddSeconds(window);
        // Best effort: a concurrent request may have saved the user first (Identity then reports a concurrency failure); the budget
        // refuses the attempt either way.
        if (await users.GetLockoutEndDateAsync(user) is not { } current || current < end) await users.SetLockoutEndDateAsync(user, end);
        return false;
    }

    /// <summary>Gives back the place of an attempt whose check succeeded (a right password before its second step, for instance).</summary>
    public Task GiveBackAsync(ApplicationUser user, CancellationToken ct) =>
        db.ClientAuthenticationFailures.Where(f => f.Key == Key(user.Id) && f.Count > 0).ExecuteUpdateAsync(s => s.SetProperty(f => f.Count, f => f.Count - 1), ct);

    /// <summary>Clears the count after a completed sign-in.</summary>
    public Task ResetAsync(ApplicationUser user, CancellationToken ct) =>
        db.ClientAuthenticationFailures.Where(f => f.Key == Key(user.Id)).ExecuteDeleteAsync(ct);
}
