using System.Security.Claims;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// <c>expires_in</c> is the lifetime of what was just issued, in whole seconds: of the access token in a token response (RFC 6749
/// §5.1) and of the device code in a device authorization response (RFC 8628 §3.2). OpenIddict counts from the moment it writes the
/// response, so a 600-second code could be announced as 599; the token's own creation and expiry dates give the configured value.
/// </summary>
public sealed class ExpiresInIsTheLifetime : IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>Right after OpenIddict attached the response parameters.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<ExpiresInIsTheLifetime>()
        .SetOrder(AttachSignInParameters.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.Response.ExpiresIn is null) return ValueTask.CompletedTask;
        var issued = context.IncludeAccessToken ? context.AccessTokenPrincipal
            : context.EndpointType == OpenIddictServerEndpointType.DeviceAuthorization ? context.DeviceCodePrincipal : null;
        if (Lifetime(issued) is { } seconds) context.Response.ExpiresIn = seconds;
        return ValueTask.CompletedTask;
    }

    private static long? Lifetime(ClaimsPrincipal? principal) =>
        principal?.GetCreationDate() is { } created && principal.GetExpirationDate() is { } expires && expires > created
            ? (long)Math.Round((expires - created).TotalSeconds)
            : null;
}
