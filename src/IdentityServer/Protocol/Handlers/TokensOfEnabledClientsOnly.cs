using IdentityServer.Protocol.Clients;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// An access or refresh token is valid only while the client it was issued to exists and is enabled: once an admin disables or deletes
/// the client, its tokens are refused wherever this server validates one (introspection answers <c>{"active": false}</c>, RFC 7662
/// §2.2; userinfo and the admin API answer 401 <c>invalid_token</c>, RFC 6750 §3.1), on every node at once (the client's state is read
/// from the database, not from the client cache). Disabling a client is how an admin stops a compromised application at once.
/// (Resource servers that validate access tokens from JWKS alone cannot see this; that is what introspection is for.)
/// </summary>
public sealed class TokensOfEnabledClientsOnly(ClientApplicationManager clients) : IOpenIddictServerHandler<ValidateTokenContext>
{
    /// <summary>Once the token's signature and expiry are known good, before its entries are checked.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseScopedHandler<TokensOfEnabledClientsOnly>()
        .SetOrder(ValidateTokenEntry.Descriptor.Order - 300)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is not { } principal
            || !(principal.HasTokenType(TokenTypeIdentifiers.AccessToken) || principal.HasTokenType(TokenTypeIdentifiers.RefreshToken))) return;
        var presenters = principal.GetPresenters();
        if (presenters.IsDefaultOrEmpty) return;
        // Read past the client cache: disabling a client stops its tokens at once on every node, not within the cache's bound.
        foreach (var presenter in presenters)
            if (await clients.IsEnabledNowAsync(presenter, context.CancellationToken) is true) return;
        context.Logger.LogInformation("Token refused: the client it was issued to ({ClientId}) is disabled or deleted", presenters[0]);
        context.Reject(Errors.InvalidToken, "The client the token was issued to is no longer enabled.");
    }
}
