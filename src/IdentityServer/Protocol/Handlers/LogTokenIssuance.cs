using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// One log event per token response that redeems something (DESIGN: one event per decision that matters), naming the grant, the
/// client and the end-user, never a code or a token: "Authorization code redeemed", "Device code redeemed", "Refresh token rotated".
/// </summary>
public sealed class LogTokenIssuance : IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>After the tokens were made.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<LogTokenIssuance>()
        .SetOrder(AttachSignInParameters.Descriptor.Order + 1_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.Token) return ValueTask.CompletedTask;
        var what = context.Request.IsAuthorizationCodeGrantType() ? "Authorization code redeemed"
            : context.Request.IsDeviceCodeGrantType() ? "Device code redeemed"
            : context.Request.IsRefreshTokenGrantType() ? "Refresh token rotated"
            : null;
        if (what is not null)
            context.Logger.LogInformation("{What} by {ClientId} for {SubjectId}", what, context.Request.ClientId, context.Principal?.GetClaim(OpenIddictConstants.Claims.Subject));
        return ValueTask.CompletedTask;
    }
}
