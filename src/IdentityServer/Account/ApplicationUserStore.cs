using System.Security.Cryptography;
using System.Text;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Account;

/// <summary>
/// Identity's EF user store with two secrets kept out of the clear (DESIGN: never store a TOTP seed or a code in the clear):
/// <list type="bullet">
/// <item>the authenticator key (TOTP shared secret) is sealed with ASP.NET Data Protection under a purpose bound to the
/// user, so a sealed key copied onto another account does not open there. (Its strength is the key ring's: see
/// <c>IdentityServer:DataProtection</c>.)</item>
/// <item>recovery codes are stored as PBKDF2-SHA256 (10,000 iterations, salted with the user id) of the normalized code, so
/// a database reader cannot test the ~47-bit codes at speed; redeeming compares hashes in constant time.</item>
/// </list>
/// </summary>
public sealed class ApplicationUserStore(IdentityServerDbContext context, IDataProtectionProvider dataProtection, IdentityErrorDescriber? describer = null)
    : UserStore<ApplicationUser, IdentityRole, IdentityServerDbContext>(context, describer)
{
    /// <summary>Identity's own names for the store's internal tokens (AspNetUserTokens.LoginProvider / Name).</summary>
    private const string InternalProvider = "[AspNetUserStore]";
    private const string RecoveryCodesName = "RecoveryCodes";

    /// <summary>PBKDF2 iterations for one recovery code.</summary>
    public const int RecoveryCodeIterations = 10_000;

    private IDataProtector Protector(ApplicationUser user) => dataProtection.CreateProtector("IdentityServer.AuthenticatorKey.v1", user.Id);

    /// <inheritdoc />
    public override Task SetAuthenticatorKeyAsync(ApplicationUser user, string key, CancellationToken cancellationToken) =>
        base.SetAuthenticatorKeyAsync(user, Protector(user).Protect(key), cancellationToken);

    /// <inheritdoc />
    /// <remarks>A value that cannot be unsealed (other key ring, other user, damaged) reads as no key.</remarks>
    public override async Task<string?> GetAuthenticatorKeyAsync(ApplicationUser user, CancellationToken cancellationToken)
    {
        var sealedKey = await base.GetAuthenticatorKeyAsync(user, cancellationToken);
        if (sealedKey is null) return null;
        try { return Protector(user).Unprotect(sealedKey); }
        catch (Exception e) when (e is CryptographicException or FormatException) { return null; }
    }

    /// <inheritdoc />
    public override Task ReplaceCodesAsync(ApplicationUser user, IEnumerable<string> recoveryCodes, CancellationToken cancellationToken) =>
        base.ReplaceCodesAsync(user, recoveryCodes.Select(c => HashRecoveryCode(user.Id, c)).ToList(), cancellationToken);

    /// <inheritdoc />
    /// <remarks>Keeps the other codes' hashes as they are (the inherited version would pass them through <see cref="ReplaceCodesAsync"/> again).</remarks>
    public override async Task<bool> RedeemCodeAsync(ApplicationUser user, string code, CancellationToken cancellationToken)
    {
        var stored = (await GetTokenAsync(user, InternalProvider, RecoveryCodesName, cancellationToken) ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries);
        var hash = Encoding.ASCII.GetBytes(HashRecoveryCode(user.Id, code));
        string? match = null;
        foreach (var h in stored)
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(h), hash)) match ??= h;
        if (match is null) return false;
        await base.ReplaceCodesAsync(user, stored.Where(h => h != match).ToList(), cancellationToken);
        return true;
    }

    /// <summary>The stored form of a recovery code: base64url PBKDF2-SHA256 of the code without spaces or dashes, upper-cased, salted with the user id.</summary>
    public static string HashRecoveryCode(string userId, string code)
    {
        var normalized = new string(code.Where(c => !char.IsWhiteSpace(c) && c != '-').Select(char.ToUpperInvariant).ToArray());
        var salt = SHA256.HashData(Encoding.UTF8.GetBytes("IdentityServer.RecoveryCode|" + userId));
        return Base64UrlEncoder.Encode(Rfc2898DeriveBytes.Pbkdf2(normalized, salt, RecoveryCodeIterations, HashAlgorithmName.SHA256, 32));
    }
}
