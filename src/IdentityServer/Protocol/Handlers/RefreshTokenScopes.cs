using IdentityServer.Protocol.Clients;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The scopes of a refresh (RFC 6749 §6):
/// <list type="number">
/// <item>scopes the client has lost since the grant (an admin removed them) are not issued again; if what is left names no resource
/// (<c>openid</c> or an API scope), <c>invalid_grant</c>;</item>
/// <item>an optional <c>scope</c> narrows the new access token only: a scope outside the grant is <c>invalid_scope</c> (RFC 6749 §6
/// and §5.2: the scope "exceeds the scope granted by the resource owner"; OpenIddict would answer <c>invalid_grant</c>, so this runs
/// first); it must still name a resource, so the access token has an audience (RFC 9068 §2.2), else <c>invalid_scope</c>.</item>
/// </list>
/// The new refresh token keeps the grant's scopes the client still holds.
/// </summary>
public sealed class RefreshTokenScopes(ClientApplicationManager clients, ScopeCatalog catalog) :
    IOpenIddictServerHandler<ValidateTokenRequestContext>, IOpenIddictServerHandler<HandleTokenRequestContext>
{
    /// <summary>Once the refresh token is validated, before OpenIddict checks the requested scopes are within the grant.</summary>
    public static OpenIddictServerHandlerDescriptor ValidationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
        .UseScopedHandler<RefreshTokenScopes>()
        .SetOrder(Exchange.ValidateGrantedScopes.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>When the principal to sign in is known.</summary>
    public static OpenIddictServerHandlerDescriptor SignInDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
        .UseScopedHandler<RefreshTokenScopes>()
        .SetOrder(Exchange.AttachPrincipal.Descriptor.Order + 600)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        if (!context.Request.IsRefreshTokenGrantType() || context.RefreshTokenPrincipal is not { } principal) return;
        var kept = await KeptScopesAsync(context.ClientId, principal, context.CancellationToken);
        if (!catalog.NamesAResource(kept))
        {
            context.Reject(Errors.InvalidGrant, "The client may no longer use the scopes of this grant.");
            return;
        }
        var requested = context.Request.GetScopes();
        if (requested.Any(scope => !principal.HasScope(scope)))
        {
            context.Reject(Errors.InvalidScope, "The requested scope exceeds the scope of the grant.");
            return;
        }
        if (requested.Length > 0 && !catalog.NamesAResource(requested.Intersect(kept)))
            context.Reject(Errors.InvalidScope, "The requested scope names no resource: include openid or an API scope.");
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleTokenRequestContext context)
    {
        if (!context.Request.IsRefreshTokenGrantType() || context.Principal is not { } principal) return;
        principal.SetScopes(await KeptScopesAsync(context.Request.ClientId, principal, context.CancellationToken));
    }

    private async Task<IReadOnlyList<string>> KeptScopesAsync(string? clientId, System.Security.Claims.ClaimsPrincipal principal, CancellationToken ct)
    {
        var allowed = clientId is not null && await clients.FindByClientIdAsync(clientId, ct) is { } application
            ? (await clients.GetProfileAsync(application, ct)).Scopes : [];
        return [.. principal.GetScopes().Where(s => allowed.Contains(s, StringComparer.Ordinal))];
    }
}
