using IdentityServer.Audit;
using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// An authorization code or a refresh token is redeemed once (RFC 6749 §4.1.2, RFC 9700 §4.14.2): it is marked redeemed in one
/// conditional update before new tokens are made, and of requests racing with the same token only one gets tokens. A loser is
/// reuse, as a later second use would be: the whole family is revoked, the reuse audited, and <c>invalid_grant</c> answered
/// (<see cref="TokenReuse.RevokeFamilyAsync"/>), unless a refresh token came within the configured reuse leeway. (OpenIddict redeems
/// the token too, but answers a lost race for a code without revoking anything, and lets a lost race for a refresh token through; its
/// handler is kept for device and user codes and runs with <see cref="NotRedeemedYet"/> (<see cref="WhenNotRedeemedYet"/>), so a
/// token redeemed here is not written a second time.)
/// </summary>
public sealed class RedeemOnce(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, IAuditLog audit, IdentityServerDbContext db) :
    IOpenIddictServerHandler<ProcessSignInContext>
{
    private const string RedeemedProperty = "IdentityServer:RedeemOnce:Redeemed";

    /// <summary>
    /// OpenIddict's redeeming handler (<see cref="RedeemTokenEntry"/>, for device and user codes), in its place and with its filters, run
    /// only when this one has not redeemed the token already: one write per redemption, not two. (A handler type of its own, since
    /// removing OpenIddict's descriptor removes every descriptor of that handler type.)
    /// </summary>
    public sealed class WhenNotRedeemedYet(IOpenIddictTokenManager tokens) : IOpenIddictServerHandler<ProcessSignInContext>
    {
        private readonly RedeemTokenEntry _openIddict = new(tokens);

        /// <summary>OpenIddict's descriptor plus <see cref="NotRedeemedYet"/>.</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
            .Import(RedeemTokenEntry.Descriptor)
            .AddFilter<NotRedeemedYet>()
            .UseScopedHandler<WhenNotRedeemedYet>()
            .Build();

        /// <inheritdoc />
        public ValueTask HandleAsync(ProcessSignInContext context) => _openIddict.HandleAsync(context);
    }

    /// <summary>True unless <see cref="RedeemOnce"/> marked the request's token redeemed.</summary>
    public sealed class NotRedeemedYet : IOpenIddictServerHandlerFilter<ProcessSignInContext>
    {
        /// <inheritdoc />
        public ValueTask<bool> IsActiveAsync(ProcessSignInContext context) => ValueTask.FromResult(!context.Transaction.Properties.ContainsKey(RedeemedProperty));
    }

    /// <summary>Before OpenIddict redeems the token entry.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseScopedHandler<RedeemOnce>()
        .SetOrder(RedeemTokenEntry.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token) return;
        var authentication = context.Transaction.GetProperty<ProcessAuthenticationContext>(typeof(ProcessAuthenticationContext).FullName!);
        var refresh = context.Request.IsRefreshTokenGrantType();
        if (refresh && context.Options.DisableRollingRefreshTokens) return;
        var principal = refresh ? authentication?.RefreshTokenPrincipal
            : context.Request.IsAuthorizationCodeGrantType() ? authentication?.AuthorizationCodePrincipal : null;
        if (principal?.GetTokenId() is not { Length: > 0 } tokenId || await tokens.FindByIdAsync(tokenId, context.CancellationToken) is not { } token) return;
        if (await tokens.TryRedeemAsync(token, context.CancellationToken))
        {
            context.Transaction.Properties[RedeemedProperty] = true;
            return;
        }
        // OpenIddict also answers false when the database failed. Only a row another request changed first is a lost race; a row
        // still valid means the update itself failed, which is the server's problem, not the client's (500, nothing revoked).
        var status = await db.Set<OpenIddictEntityFrameworkCoreToken>().AsNoTracking().Where(t => t.Id == tokenId).Select(t => t.Status)
            .FirstOrDefaultAsync(context.CancellationToken);
        if (status == OpenIddictConstants.Statuses.Valid)
            throw new InvalidOperationException("The token entry could not be marked redeemed; see the log of OpenIddict's token manager.");

        if (refresh && await TokenReuse.WithinReuseLeewayAsync(tokens, token, context.Options, context.CancellationToken)) return;
        await TokenReuse.RevokeFamilyAsync(tokens, authorizations, audit, context.Logger, principal.GetAuthorizationId(), context.Request.ClientId,
            refresh ? "refresh_token" : "authorization_code", context.CancellationToken);
        context.Reject(OpenIddictConstants.Errors.InvalidGrant, refresh ? "The refresh token has already been used." : "The authorization code has already been used.");
    }
}
