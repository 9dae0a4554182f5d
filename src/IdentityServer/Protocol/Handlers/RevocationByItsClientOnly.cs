using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// A client may revoke only the tokens issued to it (RFC 7009 §2.1: the server "verifies whether the token was issued to the client
/// making the revocation request"; if not, "the request is refused and the client is informed of the error"): another client's
/// refresh or access token is refused with <c>unauthorized_client</c>, 400, and nothing is revoked. OpenIddict would answer such a
/// request with an empty 200, and would let an audience of an access token revoke it too.
/// </summary>
public sealed class RevocationByItsClientOnly : IOpenIddictServerHandler<ValidateRevocationRequestContext>
{
    /// <summary>Just before OpenIddict's own check of the caller against the token.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateRevocationRequestContext>()
        .UseSingletonHandler<RevocationByItsClientOnly>()
        .SetOrder(Revocation.ValidateAuthorizedParty.Descriptor.Order - 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateRevocationRequestContext context)
    {
        if (context.GenericTokenPrincipal is not { } principal || string.IsNullOrEmpty(context.ClientId)) return ValueTask.CompletedTask;
        if (!principal.HasTokenType(TokenTypeIdentifiers.AccessToken) && !principal.HasTokenType(TokenTypeIdentifiers.RefreshToken)) return ValueTask.CompletedTask;
        if (principal.HasPresenter(context.ClientId)) return ValueTask.CompletedTask;
        context.Logger.LogWarning("Client {ClientId} tried to revoke a token issued to another client", context.ClientId);
        context.Reject(Errors.UnauthorizedClient, "The token was not issued to this client.");
        return ValueTask.CompletedTask;
    }
}
