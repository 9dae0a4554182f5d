using IdentityServer.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// An access token's <c>aud</c> names exactly the resources its scopes are for (RFC 9068 §3): each API scope's audience, and the
/// issuer itself for <c>openid</c> (the token is then good at userinfo). It follows the token's own scopes, so a refresh that narrows
/// the scope narrows the audience too.
/// </summary>
public sealed class AccessTokenAudiences(ScopeCatalog catalog, IdentityServerOptions options) : IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>After OpenIddict prepared the access token's principal, before the token is made.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseSingletonHandler<AccessTokenAudiences>()
        .SetOrder(PrepareAccessTokenPrincipal.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.AccessTokenPrincipal is { } principal)
            principal.SetAudiences(catalog.AudiencesFor(principal.GetScopes(), options.Issuer));
        return ValueTask.CompletedTask;
    }
}
