using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Introspection and revocation are about access and refresh tokens. Any other token this server issued (an ID token, an authorization
/// code, a device or user code) is answered as a token that is not active: <c>{"active": false}</c> at introspection (RFC 7662 §2.2:
/// the server "MUST" answer so for a token it cannot or will not describe) and an empty 200 at revocation (RFC 7009 §2.2), as for an
/// unknown token, rather than OpenIddict's <c>unsupported_token_type</c>. Nothing about the token is revealed or changed.
/// </summary>
public sealed class OtherTokenTypesAreInactive :
    IOpenIddictServerHandler<ValidateIntrospectionRequestContext>, IOpenIddictServerHandler<ValidateRevocationRequestContext>
{
    /// <summary>The handler's descriptors: just before OpenIddict checks the token type at each endpoint.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateIntrospectionRequestContext>().UseSingletonHandler<OtherTokenTypesAreInactive>()
            .SetOrder(Introspection.ValidateTokenType.Descriptor.Order - 1).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateRevocationRequestContext>().UseSingletonHandler<OtherTokenTypesAreInactive>()
            .SetOrder(Revocation.ValidateTokenType.Descriptor.Order - 1).SetType(OpenIddictServerHandlerType.Custom).Build(),
    ];

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateIntrospectionRequestContext context)
    {
        Check(context, context.GenericTokenPrincipal);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateRevocationRequestContext context)
    {
        Check(context, context.GenericTokenPrincipal);
        return ValueTask.CompletedTask;
    }

    private static void Check(BaseValidatingContext context, System.Security.Claims.ClaimsPrincipal? principal)
    {
        if (principal is null || principal.HasTokenType(TokenTypeIdentifiers.AccessToken) || principal.HasTokenType(TokenTypeIdentifiers.RefreshToken)) return;
        context.Logger.LogInformation("Token of type {TokenType} answered as inactive", principal.GetTokenType());
        context.Reject(Errors.InvalidToken, "The token is not an access token or a refresh token.");
    }
}
