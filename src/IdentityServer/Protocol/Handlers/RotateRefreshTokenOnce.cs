using IdentityServer.Audit;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// A refresh token rotates once (RFC 9700 §4.14.2, OAuth 2.1 §4.3.1): it is marked redeemed in one conditional update before new
/// tokens are made, and of two requests racing with the same token only one gets new tokens. The loser is reuse, as a later
/// second use would be: the whole family is revoked and <c>invalid_grant</c> answered (<see cref="TokenReuse.RevokeFamilyAsync"/>),
/// unless it came within the configured reuse leeway. (OpenIddict redeems the token too, but lets a lost race through.)
/// </summary>
public sealed class RotateRefreshTokenOnce(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, IAuditLog audit) :
    IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>Before OpenIddict redeems the token entry.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseScopedHandler<RotateRefreshTokenOnce>()
        .SetOrder(RedeemTokenEntry.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token || !context.Request.IsRefreshTokenGrantType() || context.Options.DisableRollingRefreshTokens) return;
        var authentication = context.Transaction.GetProperty<ProcessAuthenticationContext>(typeof(ProcessAuthenticationContext).FullName!);
        var principal = authentication?.RefreshTokenPrincipal;
        if (principal?.GetTokenId() is not { Length: > 0 } tokenId || await tokens.FindByIdAsync(tokenId, context.CancellationToken) is not { } token) return;
        if (await tokens.TryRedeemAsync(token, context.CancellationToken)) return;

        if (context.Options.RefreshTokenReuseLeeway is { } leeway && await tokens.GetRedemptionDateAsync(token, context.CancellationToken) is { } redeemed
            && context.Options.TimeProvider.GetUtcNow() < redeemed + leeway)
            return;
        await TokenReuse.RevokeFamilyAsync(tokens, authorizations, audit, context.Logger, principal.GetAuthorizationId(), context.Request.ClientId,
            "refresh_token", context.CancellationToken);
        context.Reject(OpenIddictConstants.Errors.InvalidGrant, "The refresh token has already been used.");
    }
}
