using System.Text.Json;
using System.Text.Json.Serialization;
using IdentityServer.Data.Entities;
using IdentityServer.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Admin;

/// <summary>
/// User administration shared by the admin UI, the admin API and the command line, on ASP.NET Core Identity: create,
/// list and search, lock (indefinitely) and unlock, reset the password, delete. Identity's rules apply (password policy,
/// unique user names); every change is audited with before/after snapshots that hold no secret.
/// </summary>
public sealed class UserAdministration(UserManager<ApplicationUser> users, RoleManager<IdentityRole> roles, Data.IdentityServerDbContext db,
    IAuditLog audit, TimeProvider time)
{
    /// <summary>Users whose user name or e-mail contains <paramref name="search"/> (case-insensitive), by user name; at most <paramref name="limit"/>.</summary>
    public async Task<IReadOnlyList<UserView>> ListAsync(string? search = null, int limit = 500, CancellationToken ct = default)
    {
        var query = users.Users.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(search))
        {
            var s = search.Trim().ToUpperInvariant();
            query = query.Where(u => u.NormalizedUserName!.Contains(s) || (u.NormalizedEmail != null && u.NormalizedEmail.Contains(s)));
        }
        var list = await query.OrderBy(u => u.NormalizedUserName).Take(limit).ToListAsync(ct);
        var views = new List<UserView>(list.Count);
        foreach (var u in list) views.Add(await ViewAsync(u));
        return views;
    }

    /// <summary>The user with this user name or id, or null.</summary>
    public async Task<UserView?> FindAsync(string userNameOrId, CancellationToken ct = default) =>
        await LoadAsync(userNameOrId) is { } u ? await ViewAsync(u) : null;

    /// <summary>Creates a user (e-mail marked verified) with <paramref name="roleNames"/>, creating roles as needed.</summary>
    public async Task<AdminResult<UserView>> CreateAsync(string userName, string? email, string password, IReadOnlyList<string?> roleNames, AdminActor actor, CancellationToken ct = default)
    {
        var wantedRoles = CleanRoles(roleNames, out var roleError);
        if (roleError is not null) return AdminResult<UserView>.Fail(AdminFailure.Invalid, roleError);
        var user = new ApplicationUser { UserName = userName, Email = email, EmailConfirmed = email is not null };
        var result = await users.CreateAsync(user, password);
        if (!result.Succeeded)
            return AdminResult<UserView>.Fail(result.Errors.Any(e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName)) ? AdminFailure.Conflict : AdminFailure.Invalid,
                [.. result.Errors.Select(e => e.Description)]);
        foreach (var role in wantedRoles)
            if (!await roles.RoleExistsAsync(role)) await roles.CreateAsync(new IdentityRole(role));
        if (wantedRoles.Count > 0) await users.AddToRolesAsync(user, wantedRoles);
        var view = await ViewAsync(user);
        await audit.RecordAsync(new AuditEntry(AuditEvents.UserCreated, actor.Type, actor.Id, "user", user.Id, After: Snapshot(view)), CancellationToken.None);
        return view;
    }

    /// <summary>Locks the account until unlocked: no sign-in, no new tokens (refresh and device redemption check it).</summary>
    public Task<AdminResult<UserView>> LockAsync(string userNameOrId, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserLocked, actor, null, async u =>
        {
            if (await GuardAdminAsync(u, actor) is { } refused) return IdentityResult.Failed(new IdentityError { Code = RefusedCode, Description = refused });
            await users.SetLockoutEnabledAsync(u, true);
            return await users.SetLockoutEndDateAsync(u, DateTimeOffset.MaxValue);
        }, ct);

    /// <summary>Ends a lockout (by an admin or by failed attempts) and resets the failure count.</summary>
    public Task<AdminResult<UserView>> UnlockAsync(string userNameOrId, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserUnlocked, actor, null, async u =>
        {
            var r = await users.SetLockoutEndDateAsync(u, null);
            if (r.Succeeded) await IdentityServer.Account.SignInAttempts.ResetAsync(db, u.Id);
            return r.Succeeded ? await users.ResetAccessFailedCountAsync(u) : r;
        }, ct);

    /// <summary>Sets a new password (policy applies); the user's sessions end at their next security-stamp check.</summary>
    public Task<AdminResult<UserView>> ResetPasswordAsync(string userNameOrId, string newPassword, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserPasswordReset, actor, null, async u =>
            await users.ResetPasswordAsync(u, await users.GeneratePasswordResetTokenAsync(u), newPassword), ct);

    /// <summary>Turns two-step verification off for someone who lost their authenticator: removes the key and the recovery codes.</summary>
    public Task<AdminResult<UserView>> ResetTwoFactorAsync(string userNameOrId, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserTwoFactorReset, actor, null, async u =>
        {
            await users.RemoveAuthenticationTokenAsync(u, "[AspNetUserStore]", "AuthenticatorKey");
            await users.GenerateNewTwoFactorRecoveryCodesAsync(u, 0);
            return await users.SetTwoFactorEnabledAsync(u, false);
        }, ct);

    /// <summary>Removes every passkey of the user (a lost or compromised device).</summary>
    public Task<AdminResult<UserView>> RemovePasskeysAsync(string userNameOrId, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserPasskeysRemoved, actor, null, async u =>
        {
            foreach (var p in await users.GetPasskeysAsync(u))
            {
                var r = await users.RemovePasskeyAsync(u, p.CredentialId);
                if (!r.Succeeded) return r;
            }
            await db.PasskeyUsage.Where(x => x.UserId == u.Id).ExecuteDeleteAsync(ct);
            return await users.UpdateSecurityStampAsync(u);
        }, ct);

    /// <summary>Makes the user's roles exactly <paramref name="roleNames"/>, creating roles as needed.</summary>
    public Task<AdminResult<UserView>> SetRolesAsync(string userNameOrId, IReadOnlyList<string?> roleNames, AdminActor actor, CancellationToken ct = default) =>
        ChangeAsync(userNameOrId, AuditEvents.UserRolesChanged, actor, null, async u =>
        {
            var wanted = CleanRoles(roleNames, out var roleError);
            if (roleError is not null) return IdentityResult.Failed(new IdentityError { Code = "RoleName", Description = roleError });
            if (!wanted.Contains(AdminApiAuthorization.AdminRole) && await GuardAdminAsync(u, actor) is { } refused)
                return IdentityResult.Failed(new IdentityError { Code = RefusedCode, Description = refused });
            var current = await users.GetRolesAsync(u);
            foreach (var role in wanted.Where(r => !current.Contains(r)))
                if (!await roles.RoleExistsAsync(role)) await roles.CreateAsync(new IdentityRole(role));
            var removed = await users.RemoveFromRolesAsync(u, current.Except(wanted));
            return removed.Succeeded ? await users.AddToRolesAsync(u, wanted.Except(current)) : removed;
        }, ct);

    /// <summary>Deletes the user with their passkeys, roles and tokens; their grants can no longer be redeemed.</summary>
    public async Task<AdminResult<UserView>> DeleteAsync(string userNameOrId, AdminActor actor, CancellationToken ct = default)
    {
        if (await LoadAsync(userNameOrId) is not { } user) return AdminResult<UserView>.Fail(AdminFailure.NotFound, $"No user '{userNameOrId}'.");
        if (await GuardAdminAsync(user, actor) is { } refused) return AdminResult<UserView>.Fail(AdminFailure.Refused, refused);
        var view = await ViewAsync(user);
        var result = await users.DeleteAsync(user);
        if (!result.Succeeded) return AdminResult<UserView>.Fail(AdminFailure.Invalid, [.. result.Errors.Select(e => e.Description)]);
        await audit.RecordAsync(new AuditEntry(AuditEvents.UserDeleted, actor.Type, actor.Id, "user", user.Id, Before: Snapshot(view)), CancellationToken.None);
        return view;
    }

    private async Task<AdminResult<UserView>> ChangeAsync(string userNameOrId, string auditEvent, AdminActor actor, string? reason,
        Func<ApplicationUser, Task<IdentityResult>> change, CancellationToken ct)
    {
        if (await LoadAsync(userNameOrId) is not { } user) return AdminResult<UserView>.Fail(AdminFailure.NotFound, $"No user '{userNameOrId}'.");
        var before = Snapshot(await ViewAsync(user));
        var result = await change(user);
        if (!result.Succeeded)
            return AdminResult<UserView>.Fail(result.Errors.Any(e => e.Code == RefusedCode) ? AdminFailure.Refused : AdminFailure.Invalid,
                [.. result.Errors.Select(e => e.Description)]);
        var view = await ViewAsync(user);
        await audit.RecordAsync(new AuditEntry(auditEvent, actor.Type, actor.Id, "user", user.Id, reason, before, Snapshot(view)), CancellationToken.None);
        return view;
    }

    /// <summary>By id first (ids are what the UI and API link to), then by user name.</summary>
    private async Task<ApplicationUser?> LoadAsync(string userNameOrId) =>
        await users.FindByIdAsync(userNameOrId) ?? await users.FindByNameAsync(userNameOrId);

    /// <summary>
    /// Null when <paramref name="user"/> may lose admin power through this change; else why not: admins cannot lock, delete or
    /// demote themselves, and the last active admin cannot be locked, deleted or demoted (the server would be unmanageable).
    /// </summary>
    private async Task<string?> GuardAdminAsync(ApplicationUser user, AdminActor actor)
    {
        if (!await users.IsInRoleAsync(user, AdminApiAuthorization.AdminRole)) return null;
        if (actor.Type == "user" && actor.Id == user.Id) return "Admins cannot lock, delete or demote themselves; ask another admin.";
        var admins = await users.GetUsersInRoleAsync(AdminApiAuthorization.AdminRole);
        var others = 0;
        foreach (var a in admins.Where(a => a.Id != user.Id)) if (!await users.IsLockedOutAsync(a)) others++;
        return others == 0 ? "This is the last active admin; make another user admin first." : null;
    }

    private const string RefusedCode = "AdminGuard";

    /// <summary>Trimmed, distinct, non-empty role names; <paramref name="error"/> set for a name over 256 characters.</summary>
    private static List<string> CleanRoles(IReadOnlyList<string?> names, out string? error)
    {
        var list = names.Where(n => !string.IsNullOrWhiteSpace(n)).Select(n => n!.Trim()).Distinct(StringComparer.Ordinal).ToList();
        error = list.Any(r => r.Length > 256) ? "A role name can have at most 256 characters." : null;
        return list;
    }

    private async Task<UserView> ViewAsync(ApplicationUser u) => new()
    {
        Id = u.Id, UserName = u.UserName ?? "", Email = u.Email, DisplayName = u.DisplayName,
        LockedOut = u.LockoutEnd is { } end && end > time.GetUtcNow(), LockoutEnd = u.LockoutEnd,
        TwoFactorEnabled = u.TwoFactorEnabled, Passkeys = (await users.GetPasskeysAsync(u)).Count, Roles = [.. await users.GetRolesAsync(u)],
    };

    private static string Snapshot(UserView view) => JsonSerializer.Serialize(view);
}

/// <summary>A user as admins see it; no password hash, security stamp, authenticator key or recovery code.</summary>
public sealed record UserView
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("user_name")] public required string UserName { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }
    [JsonPropertyName("locked_out")] public bool LockedOut { get; init; }
    [JsonPropertyName("lockout_end")] public DateTimeOffset? LockoutEnd { get; init; }
    [JsonPropertyName("two_factor_enabled")] public bool TwoFactorEnabled { get; init; }
    [JsonPropertyName("passkeys")] public int Passkeys { get; init; }
    [JsonPropertyName("roles")] public IReadOnlyList<string> Roles { get; init; } = [];
}
