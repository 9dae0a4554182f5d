using IdentityServer.Hosting;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Audit;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Account;

/// <summary>What became of a passkey sign-in or registration.</summary>
/// <param name="Succeeded">True when it worked.</param>
/// <param name="Message">For a person, when it did not.</param>
public sealed record PasskeyOutcome(bool Succeeded, string? Message = null);

/// <summary>
/// Passkey ceremonies on top of Identity's (WebAuthn Level 3 §7.1 registration, §7.2 authentication). Identity checks the
/// challenge against its ceremony state, the origin and RP ID, user presence and verification, the signature and the
/// signature counter. This adds what it leaves out:
/// <list type="bullet">
/// <item>each challenge is used once: it is recorded in the database after a successful ceremony, so replaying the same
/// response with a copied state cookie within its 5 minutes fails (a replay is logged)</item>
/// <item>a locked-out or not-allowed user is not signed in; the stored signature counter and "last used" are updated</item>
/// <item>a counter that did not grow (a cloned authenticator, WebAuthn §6.1.1) is logged as such</item>
/// <item>the session records how the person signed in: <c>amr</c> <c>hwk</c> for a device-bound key or <c>swk</c> for a synced one
/// (backup eligible), with <c>user</c> and <c>mfa</c> since user verification is required (RFC 8176). Attestation is not
/// verified ("none"), so device-bound versus synced is the authenticator's own report in its flags (WebAuthn §6.1 BE bit).</item>
/// </list>
/// </summary>
public sealed class Passkeys(SignInManager<ApplicationUser> signIn, UserManager<ApplicationUser> users, IdentityServerDbContext db,
    IAuditLog audit, TimeProvider time, ServerMetrics metrics, ILogger<Passkeys> logger)
{
    /// <summary>How long a challenge is remembered: Identity's ceremony state lives 5 minutes; a margin on top.</summary>
    private static readonly TimeSpan ChallengeMemory = TimeSpan.FromMinutes(10);

    /// <summary>Options JSON for <c>navigator.credentials.get</c> with any discoverable credential of this RP.</summary>
    public Task<string> RequestOptionsAsync() => signIn.MakePasskeyRequestOptionsAsync(null);

    /// <summary>Options JSON for <c>navigator.credentials.create</c> for <paramref name="user"/>.</summary>
    public Task<string> CreationOptionsAsync(ApplicationUser user) =>
        signIn.MakePasskeyCreationOptionsAsync(new PasskeyUserEntity
        {
            Id = user.Id, Name = user.UserName ?? user.Id, DisplayName = user.DisplayName ?? user.UserName ?? user.Id,
        });

    /// <summary>Verifies an assertion (the JSON of <c>PublicKeyCredential.toJSON()</c>) and signs its user in.</summary>
    public async Task<PasskeyOutcome> SignInAsync(string credentialJson)
    {
        PasskeyAssertionResult<ApplicationUser> result;
        try { result = await signIn.PerformPasskeyAssertionAsync(credentialJson); }
        catch (Exception e) when (e is InvalidOperationException or JsonException or FormatException)
        {
            logger.LogWarning("Passkey sign-in failed: no valid ceremony ({Reason})", e.Message);
            return new(false, "The passkey request expired. Try again.");
        }
        if (!result.Succeeded)
        {
            var reason = result.Failure?.Message ?? "unknown";
            if (reason.Contains("signature counter", StringComparison.OrdinalIgnoreCase))
                logger.LogWarning("Passkey sign-in refused: the signature counter did not grow (possible cloned authenticator): {Reason}", reason);
            else
                logger.LogWarning("Passkey sign-in failed: {Reason}", reason);
            await audit.RecordAsync(new AuditEntry(AuditEvents.SignInFailed, "anonymous", null, Reason: "passkey: " + reason));
            metrics.SignIn("passkey", "failure");
            return new(false, "That passkey could not be used here. Try again or use your password.");
        }

        var user = result.User!;
        if (!await TryConsumeChallengeAsync(credentialJson))
        {
            logger.LogWarning("Passkey sign-in refused for {UserId}: the assertion's challenge was already used (replay)", user.Id);
            await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInFailed, user.Id, "passkey: replayed assertion"));
            metrics.SignIn("passkey", "failure");
            return new(false, "The passkey request expired. Try again.");
        }
        if (await users.IsLockedOutAsync(user) || !await signIn.CanSignInAsync(user))
        {
            logger.LogWarning("Passkey sign-in refused for {UserId}: locked out or not allowed", user.Id);
            await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInFailed, user.Id, "passkey: locked out or not allowed"));
            metrics.SignIn("passkey", "locked_out");
            return new(false, "This account cannot sign in right now. Try again later.");
        }

        var passkey = result.Passkey!;
        var counterSaved = await users.AddOrUpdatePasskeyAsync(user, passkey);
        if (!counterSaved.Succeeded)
        {
            // Without the new signature counter stored, a clone could use the same counter value again.
            logger.LogWarning("Passkey sign-in refused for {UserId}: the signature counter could not be saved ({Codes})", user.Id, string.Join(",", counterSaved.Errors.Select(e => e.Code)));
            return new(false, "That passkey could not be used here. Try again or use your password.");
        }
        await RecordUseAsync(user.Id, passkey.CredentialId);
        string[] amr = [passkey.IsBackupEligible ? "swk" : "hwk", "user", "mfa"];
        await signIn.SignInWithClaimsAsync(user, isPersistent: false, SessionClaims.Create(time.GetUtcNow(), amr));
        logger.LogInformation("Sign-in succeeded for {UserId} (passkey, {Kind})", user.Id, amr[0]);
        await audit.RecordAsync(AuditEntry.Self(AuditEvents.SignInSucceeded, user.Id, "passkey (" + amr[0] + ")"));
        metrics.SignIn(amr[0], "success");
        return new(true);
    }

    /// <summary>Verifies an attestation (the JSON of <c>PublicKeyCredential.toJSON()</c>) and stores the new passkey for <paramref name="user"/> under <paramref name="name"/>.</summary>
    public async Task<PasskeyOutcome> RegisterAsync(ApplicationUser user, string credentialJson, string name)
    {
        PasskeyAttestationResult result;
        try { result = await signIn.PerformPasskeyAttestationAsync(credentialJson); }
        catch (Exception e) when (e is InvalidOperationException or JsonException or FormatException)
        {
            logger.LogWarning("Passkey registration failed for {UserId}: no valid ceremony ({Reason})", user.Id, e.Message);
            return new(false, "The passkey request expired. Try again.");
        }
        if (!result.Succeeded || result.UserEntity?.Id != user.Id)
        {
            logger.LogWarning("Passkey registration failed for {UserId}: {Reason}", user.Id, result.Failure?.Message ?? "ceremony of another user");
            return new(false, "The passkey could not be added. Try again.");
        }
        if (!await TryConsumeChallengeAsync(credentialJson))
        {
            logger.LogWarning("Passkey registration refused for {UserId}: the challenge was already used (replay)", user.Id);
            return new(false, "The passkey request expired. Try again.");
        }
        var passkey = result.Passkey!;
        passkey.Name = name;
        var stored = await users.AddOrUpdatePasskeyAsync(user, passkey);
        if (!stored.Succeeded)
        {
            logger.LogWarning("Passkey registration failed for {UserId}: {Codes}", user.Id, string.Join(",", stored.Errors.Select(e => e.Code)));
            return new(false, "The passkey could not be added. Try again.");
        }
        logger.LogInformation("Passkey added for {UserId}", user.Id);
        await audit.RecordAsync(AuditEntry.Self(AuditEvents.PasskeyAdded, user.Id, name));
        return new(true);
    }

    /// <summary>When each of the user's passkeys (by base64url credential id) last signed in.</summary>
    public async Task<Dictionary<string, DateTimeOffset>> LastUsedAsync(string userId) =>
        await db.PasskeyUsage.AsNoTracking().Where(u => u.UserId == userId).ToDictionaryAsync(u => u.CredentialId, u => u.LastUsedAt);

    /// <summary>Records the challenge in <paramref name="credentialJson"/>'s client data; false when it was recorded before.</summary>
    private async Task<bool> TryConsumeChallengeAsync(string credentialJson)
    {
        var challenge = ChallengeOf(credentialJson);
        if (challenge is null) return false;
        var now = time.GetUtcNow();
        var entry = db.ConsumedChallenges.Add(new ConsumedChallengeEntity
        {
            ChallengeHash = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(challenge))), ConsumedAt = now, ExpiresAt = now + ChallengeMemory,
        });
        try
        {
            await db.SaveChangesAsync();
        }
        catch (DbUpdateException)
        {
            return false;
        }
        finally
        {
            // Only this row: the context is shared with Identity's user store, whose tracked user must stay.
            entry.State = EntityState.Detached;
        }
        return true;
    }

    /// <summary>The <c>challenge</c> member of the base64url <c>response.clientDataJSON</c> (WebAuthn §5.8.1), or null.</summary>
    public static string? ChallengeOf(string credentialJson)
    {
        try
        {
            using var credential = JsonDocument.Parse(credentialJson);
            var clientData = credential.RootElement.GetProperty("response").GetProperty("clientDataJSON").GetString();
            if (clientData is null) return null;
            using var parsed = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(clientData));
            return parsed.RootElement.GetProperty("challenge").GetString();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private async Task RecordUseAsync(string userId, byte[] credentialId)
    {
        var id = Base64UrlEncoder.Encode(credentialId);
        var now = time.GetUtcNow();
        if (await db.PasskeyUsage.Where(u => u.CredentialId == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.LastUsedAt, now)) == 0)
        {
            var entry = db.PasskeyUsage.Add(new PasskeyUsageEntity { CredentialId = id, UserId = userId, LastUsedAt = now });
            try { await db.SaveChangesAsync(); }
            catch (DbUpdateException) { /* a parallel sign-in with the same passkey recorded it */ }
            finally { entry.State = EntityState.Detached; }
        }
    }
}
