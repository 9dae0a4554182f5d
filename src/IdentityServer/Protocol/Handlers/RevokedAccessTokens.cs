using IdentityServer.Data;
using IdentityServer.Data.Entities;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Revoking one access token (RFC 7009 §2.1) puts its <c>jti</c> on a list kept until the token expires, and an access token on the
/// list is refused wherever this server validates one (userinfo, introspection, revocation, the admin API): <c>invalid_token</c>,
/// or <c>{"active": false}</c> at introspection (RFC 7662 §2.2). Access tokens have no token entry
/// (<see cref="NoEntriesForSelfContainedTokens"/>), so OpenIddict alone could not revoke them: it would answer <c>unsupported_token_type</c>.
/// Revoking an access token leaves the refresh token and the other access tokens of its family alone (RFC 7009 §2.1 asks no more).
/// An access token whose authorization was revoked (its refresh token revoked, its code or refresh token reused) is refused too: this
/// handler hands the token's authorization to OpenIddict's authorization entry check, which has no token entry to take it from.
/// A token of another client is not revoked (OpenIddict refuses the request before this handler, RFC 7009 §2.1).
/// </summary>
public sealed class RevokedAccessTokens(IdentityServerDbContext db, TimeProvider time) :
    IOpenIddictServerHandler<ValidateTokenContext>, IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    /// <summary>Once the token's signature and expiry are known good, before its entries (token, then authorization) are checked.</summary>
    public static OpenIddictServerHandlerDescriptor ValidationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseScopedHandler<RevokedAccessTokens>()
        .SetOrder(Protection.ValidateTokenEntry.Descriptor.Order - 250)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>Where OpenIddict's own revocation handler was (it is removed; see <see cref="RefreshTokenRevocation"/>).</summary>
    public static OpenIddictServerHandlerDescriptor RevocationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
        .UseScopedHandler<RevokedAccessTokens>()
        .SetOrder(Revocation.RevokeToken.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is not { } principal || !principal.HasTokenType(TokenTypeIdentifiers.AccessToken)) return;
        var jti = principal.GetClaim(Claims.JwtId);
        if (jti is not null && await db.RevokedAccessTokens.AsNoTracking().AnyAsync(r => r.Jti == jti, context.CancellationToken))
        {
            context.Logger.LogInformation("Access token refused: it was revoked");
            context.Reject(Errors.InvalidToken, "The access token has been revoked.");
            return;
        }
        // Without a token entry OpenIddict takes the authorization from nowhere; the token names it, so its status is checked too.
        if (string.IsNullOrEmpty(context.TokenId) && string.IsNullOrEmpty(context.AuthorizationId)) context.AuthorizationId = principal.GetAuthorizationId();
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        if (principal is null || !principal.HasTokenType(TokenTypeIdentifiers.AccessToken) || !string.IsNullOrEmpty(principal.GetTokenId())) return;
        var jti = principal.GetClaim(Claims.JwtId);
        if (jti is not null && await db.RevokedAccessTokens.AsNoTracking().AllAsync(r => r.Jti != jti, context.CancellationToken))
        {
            db.RevokedAccessTokens.Add(new RevokedAccessTokenEntity
            {
                Jti = jti, RevokedAt = time.GetUtcNow(), ExpiresAt = principal.GetExpirationDate() ?? time.GetUtcNow().AddDays(1),
            });
            try { await db.SaveChangesAsync(context.CancellationToken); }
            catch (DbUpdateException) { /* revoked by a parallel request: the same outcome */ }
        }
        context.Logger.LogInformation("Access token revoked by {ClientId}", context.Request.ClientId);
    }
}
