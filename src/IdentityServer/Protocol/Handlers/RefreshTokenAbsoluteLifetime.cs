using IdentityServer.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Refresh tokens slide (each rotation lives <see cref="LifetimeOptions.RefreshTokenSlidingSeconds"/>, or the client's own lifetime)
/// but never past <see cref="LifetimeOptions.RefreshTokenAbsoluteSeconds"/> after the end-user's original authorization (RFC 9700
/// §4.14.2: refresh tokens should expire; OpenIddict's sliding expiration alone has no end). The end is counted from the creation of
/// the authorization the tokens belong to.
/// </summary>
public sealed class RefreshTokenAbsoluteLifetime(IOpenIddictAuthorizationManager authorizations, IdentityServerOptions options) :
    IOpenIddictServerHandler<ProcessSignInContext>
{
    /// <summary>After OpenIddict prepared the refresh token's principal, before the token is made.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessSignInContext>()
        .UseScopedHandler<RefreshTokenAbsoluteLifetime>()
        .SetOrder(PrepareRefreshTokenPrincipal.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ProcessSignInContext context)
    {
        if (context.RefreshTokenPrincipal is not { } principal || principal.GetAuthorizationId() is not { Length: > 0 } id
            || await authorizations.FindByIdAsync(id, context.CancellationToken) is not { } authorization
            || await authorizations.GetCreationDateAsync(authorization, context.CancellationToken) is not { } created) return;
        var end = created.AddSeconds(options.Lifetimes.RefreshTokenAbsoluteSeconds);
        if (end <= context.Options.TimeProvider.GetUtcNow())
        {
            context.Reject(Errors.InvalidGrant, "The authorization has reached its absolute lifetime; sign in again.");
            return;
        }
        if (principal.GetExpirationDate() is not { } expires || expires > end) principal.SetExpirationDate(end);
    }
}
