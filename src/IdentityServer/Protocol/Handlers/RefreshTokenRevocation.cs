using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Revoking a refresh token revokes its whole family: the authorization of the sign-in it came from, every refresh token issued from
/// it, and, since they are checked against that authorization, every access token too (RFC 7009 §2.1: the server "SHOULD also
/// invalidate all access tokens based on the same authorization grant"). OpenIddict alone would revoke the one token entry. Remembered
/// consent is a separate authorization and stays. OpenIddict's own revocation handler is removed: this handler and
/// <see cref="RevokedAccessTokens"/> revoke the two kinds of token the endpoint accepts, and the answer is the empty 200 of
/// <see cref="EmptyRevocationResponse"/>.
/// </summary>
public sealed class RefreshTokenRevocation(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations) :
    IOpenIddictServerHandler<HandleRevocationRequestContext>
{
    /// <summary>Where OpenIddict's own revocation handler was.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleRevocationRequestContext>()
        .UseScopedHandler<RefreshTokenRevocation>()
        .SetOrder(Revocation.RevokeToken.Descriptor.Order - 400)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleRevocationRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        if (principal is null || !principal.HasTokenType(TokenTypeIdentifiers.RefreshToken)) return;
        if (!await TokenReuse.RevokeAuthorizationAsync(tokens, authorizations, principal.GetAuthorizationId(), context.CancellationToken)) return;
        context.Logger.LogInformation("Refresh token revoked by {ClientId}; its authorization {AuthorizationId} and tokens revoked",
            context.Request.ClientId, principal.GetAuthorizationId());
    }
}
