using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// A <c>request_uri</c> at the authorization endpoint is refused with <c>request_uri_not_supported</c> (OpenID Connect Core 1.0 §6.3;
/// discovery says <c>request_uri_parameter_supported: false</c>), whatever its value. OpenIddict would read a value in the pushed
/// authorization request form (<c>urn:ietf:params:oauth:request_uri:…</c>, RFC 9126 §4) as one of its own, although pushed
/// authorization requests are not enabled, and answer <c>invalid_request</c>. The error goes back to the client when its redirect URI
/// is registered, like every other error after that check.
/// </summary>
public sealed class RequestUriNotSupported : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    /// <summary>Before OpenIddict looks at <c>request_uri</c>.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseSingletonHandler<RequestUriNotSupported>()
        .SetOrder(Authentication.ValidateRequestUriParameter.Descriptor.Order - 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        if (string.IsNullOrEmpty(context.Request.RequestUri)) return ValueTask.CompletedTask;
        context.Logger.LogInformation("Authorization request refused: request_uri is not supported");
        context.Reject(Errors.RequestUriNotSupported, "The request_uri parameter is not supported.");
        return ValueTask.CompletedTask;
    }
}
