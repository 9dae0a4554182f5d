using IdentityServer.Account;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Tokens for an end-user are issued only while the end-user may still sign in: redeeming a code or a device code, or refreshing,
/// fails with <c>invalid_grant</c> once the account is deleted or locked out (RFC 6749 §5.2: the grant "is invalid ... or was issued
/// to another client"; here it no longer stands for an active resource owner). Introspection answers <c>{"active": false}</c> for such
/// an end-user's tokens (RFC 7662 §2.2: a token is active only while "the authorization server has not revoked" what it stands for).
/// (Userinfo checks the same in its endpoint.) A client's own token (client credentials) has no end-user and no <c>auth_time</c>.
/// </summary>
public sealed class RequireActiveEndUser(ActiveUsers users) :
    IOpenIddictServerHandler<HandleTokenRequestContext>, IOpenIddictServerHandler<HandleIntrospectionRequestContext>
{
    /// <summary>At introspection, once the token is known good.</summary>
    public static OpenIddictServerHandlerDescriptor IntrospectionDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleIntrospectionRequestContext>()
        .UseScopedHandler<RequireActiveEndUser>()
        .SetOrder(Introspection.AttachPrincipal.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleIntrospectionRequestContext context)
    {
        var principal = context.GenericTokenPrincipal;
        if (principal is null || !principal.HasClaim(Claims.AuthenticationTime) || principal.GetClaim(Claims.Subject) is not { } subject) return;
        if (await users.FindActiveAsync(subject, context.CancellationToken) is not null) return;
        context.Reject(Errors.InvalidToken, "The end-user is no longer active.");
    }

    /// <summary>When the principal to sign in is known.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
        .UseScopedHandler<RequireActiveEndUser>()
        .SetOrder(Exchange.AttachPrincipal.Descriptor.Order + 700)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleTokenRequestContext context)
    {
        if (!(context.Request.IsAuthorizationCodeGrantType() || context.Request.IsRefreshTokenGrantType() || context.Request.IsDeviceCodeGrantType())
            || context.Principal?.GetClaim(Claims.Subject) is not { } subject) return;
        if (await users.FindActiveAsync(subject, context.CancellationToken) is not null) return;
        context.Logger.LogInformation("Tokens refused for {ClientId}: the end-user is deleted or locked out", context.Request.ClientId);
        context.Reject(Errors.InvalidGrant, "The end-user is no longer allowed to sign in.");
    }
}
