using System.Globalization;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// <c>max_age</c> at the authorization endpoint must be a non-negative integer number of seconds (OpenID Connect Core 1.0 §3.1.2.1);
/// anything else is <c>invalid_request</c>, sent back to the client once its redirect URI is known good. OpenIddict does not check it.
/// </summary>
public sealed class MaxAgeParameter : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
{
    /// <summary>Once the client and its redirect URI are known good.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseSingletonHandler<MaxAgeParameter>()
        .SetOrder(Authentication.ValidateClientRedirectUri.Descriptor.Order + 400)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        var raw = (string?)context.Request[Parameters.MaxAge];
        if (raw is null || (raw.Length is > 0 and <= 10 && raw.All(char.IsAsciiDigit) && long.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
            return ValueTask.CompletedTask;
        context.Logger.LogInformation("Authorization request of {ClientId} refused: max_age is not a non-negative integer", context.ClientId);
        context.Reject(Errors.InvalidRequest, "The max_age parameter must be a non-negative integer number of seconds.");
        return ValueTask.CompletedTask;
    }
}
