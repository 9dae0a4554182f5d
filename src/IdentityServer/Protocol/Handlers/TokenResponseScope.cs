using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Every successful token response names the access token's <c>scope</c> (RFC 6749 §5.1 makes it optional when equal to the request;
/// clients are simpler when it is always there). OpenIddict leaves it out when it equals the requested scope.
/// </summary>
public sealed class TokenResponseScope : IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>After OpenIddict filled the response.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<TokenResponseScope>()
        .SetOrder(AttachSignInParameters.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType == OpenIddictServerEndpointType.Token && context.IncludeAccessToken && context.AccessTokenPrincipal is { } principal)
            context.Response.Scope = string.Join(' ', principal.GetScopes());
        return ValueTask.CompletedTask;
    }
}
