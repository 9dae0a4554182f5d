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
/// the authenticator key (TOTP shared secret) is sealed with ASP.NET Data Protection, and recovery codes are stored as
/// base64url SHA-256 of user id and normalized code, so redeeming compares hashes and a database reader learns no code.
/// </summary>
public sealed class ApplicationUserStore(IdentityServerDbContext context, IDataProtectionProvider dataProtection, IdentityErrorDescriber? describer = null)
    : UserStore<ApplicationUser, IdentityRole, IdentityServerDbContext>(context, describer)
{
    private readonly IDataProtector _protector = dataProtection.CreateProtector("IdentityServer.AuthenticatorKey.v1");

    /// <inheritdoc />
    public override Task SetAuthenticatorKeyAsync(ApplicationUser user, string key, CancellationToken cancellationToken) =>
        base.SetAuthenticatorKeyAsync(user, _protector.Protect(key), cancellationToken);

    /// <inheritdoc />
    /// <remarks>A value that cannot be unsealed (foreign or damaged) reads as no key: the person enrols again.</remarks>
    public override async Task<string?> GetAuthenticatorKeyAsync(ApplicationUser user, CancellationToken cancellationToken)
    {
        var sealedKey = await base.GetAuthenticatorKeyAsync(user, cancellationToken);
        if (sealedKey is null) return null;
        try { return _protector.Unprotect(sealedKey); }
        catch (CryptographicException) { return null; }
    }

    /// <inheritdoc />
    public override Task ReplaceCodesAsync(ApplicationUser user, IEnumerable<string> recoveryCodes, CancellationToken cancellationToken) =>
        base.ReplaceCodesAsync(user, recoveryCodes.Select(c => HashRecoveryCode(user.Id, c)).ToList(), cancellationToken);

    /// <inheritdoc />
    public override Task<bool> RedeemCodeAsync(ApplicationUser user, string code, CancellationToken cancellationToken) =>
        base.RedeemCodeAsync(user, HashRecoveryCode(user.Id, code), cancellationToken);

    /// <summary>The stored form of a recovery code: SHA-256 over user id and the code without spaces or dashes, upper-cased.</summary>
    public static string HashRecoveryCode(string userId, string code)
    {
        var normalized = new string(code.Where(c => !char.IsWhiteSpace(c) && c != '-').Select(char.ToUpperInvariant).ToArray());
        return Base64UrlEncoder.Encode(SHA256.HashData(Encoding.UTF8.GetBytes(userId + ":" + normalized)));
    }
}
