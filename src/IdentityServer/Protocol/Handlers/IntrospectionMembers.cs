using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Introspection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// An active token's introspection answer (RFC 7662 §2.2) always says what it was granted: <c>scope</c>, and <c>token_type</c>
/// (<c>Bearer</c> for an access token, <c>refresh_token</c> for a refresh token). OpenIddict adds the scope only when the caller is an
/// audience of the token; the client the token was issued to may see it too. (Who may introspect at all is OpenIddict's
/// audience/presenter check: anyone else gets <c>{"active": false}</c>.)
/// </summary>
public sealed class IntrospectionMembers : IOpenIddictServerHandler<HandleIntrospectionRequestContext>
{
    /// <summary>After OpenIddict attached the token's claims.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleIntrospectionRequestContext>()
        .UseSingletonHandler<IntrospectionMembers>()
        .SetOrder(AttachApplicationClaims.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleIntrospectionRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        if (context.Scopes.Count == 0) context.Scopes.UnionWith(principal.GetScopes());
        if (principal.HasTokenType(TokenTypeIdentifiers.RefreshToken)) context.TokenType = TokenTypeHints.RefreshToken;
        return ValueTask.CompletedTask;
    }
}
