using IdentityServer.Options;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityServer.Account;

/// <summary>
/// Configures Identity's passkey handler from <c>IdentityServer:Passkeys</c>: the RP ID (default: the issuer's host), the
/// origins allowed to run ceremonies (default: the issuer's origin; never cross-origin iframes), user verification
/// required (WebAuthn §7.1 step 15, §7.2 step 17) and discoverable credentials required, so a person can sign in without
/// typing a user name.
/// </summary>
public sealed class PasskeySetup(IdentityServerOptions options) : IConfigureOptions<IdentityPasskeyOptions>
{
    /// <inheritdoc />
    public void Configure(IdentityPasskeyOptions o)
    {
        var origins = options.Passkeys.EffectiveOrigins(options.Issuer).ToHashSet(StringComparer.OrdinalIgnoreCase);
        o.ServerDomain = options.Passkeys.EffectiveServerDomain(options.Issuer);
        o.UserVerificationRequirement = "required";
        o.ResidentKeyRequirement = "required";
        o.ValidateOrigin = context => ValueTask.FromResult(!context.CrossOrigin && origins.Contains(context.Origin.TrimEnd('/')));
    }
}
