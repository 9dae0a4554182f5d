using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Introspection describes a token only to the client it was issued to or, for an access token, to one of its audiences (the resource
/// servers it is meant for); any other caller gets <c>{"active": false}</c> and learns nothing (RFC 7662 §4: the server must not tell
/// a client more about a token than it is allowed to know; ASVS 5.0 10.4). OpenIddict applies the same rule only to tokens that carry
/// both an audience and a presenter; this handler makes it the rule for every token.
/// </summary>
public sealed class IntrospectionByItsClientOrAudience : IOpenIddictServerHandler<ValidateIntrospectionRequestContext>
{
    /// <summary>Just before OpenIddict's own check of the caller against the token.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateIntrospectionRequestContext>()
        .UseSingletonHandler<IntrospectionByItsClientOrAudience>()
        .SetOrder(Introspection.ValidateAuthorizedParty.Descriptor.Order - 1)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateIntrospectionRequestContext context)
    {
        if (context.GenericTokenPrincipal is not { } principal || string.IsNullOrEmpty(context.ClientId)) return ValueTask.CompletedTask;
        if (principal.HasPresenter(context.ClientId)
            || (principal.HasTokenType(TokenTypeIdentifiers.AccessToken) && principal.HasAudience(context.ClientId))) return ValueTask.CompletedTask;
        context.Logger.LogInformation("Introspection by {ClientId} answered inactive: the token is neither its own nor meant for it", context.ClientId);
        context.Reject(Errors.InvalidToken, "The token is not active for this caller.");
        return ValueTask.CompletedTask;
    }
}
