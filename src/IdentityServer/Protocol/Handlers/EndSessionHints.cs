using IdentityServer.Keys;
using IdentityServer.Protocol.Clients;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The end-session endpoint's rules on who the request comes from (OpenID Connect RP-Initiated Logout 1.0 §2–§3):
/// <list type="bullet">
/// <item>an <c>id_token_hint</c> must be an ID token of this issuer, expired or not, else <c>invalid_request</c> (OpenIddict would ignore
/// an invalid hint). One signed by a key that is no longer published counts as no hint: relying parties keep ID tokens long, and the
/// person is then asked to confirm rather than refused;</item>
/// <item>a <c>post_logout_redirect_uri</c> needs to know the client, from <c>client_id</c> or the hint's audience, and must be
/// registered for that client, exactly (§3); else <c>invalid_request</c>. (OpenIddict would accept a URI registered for any client.)</item>
/// </list>
/// </summary>
public sealed class EndSessionHints(ISigningKeyStore keys, ClientApplicationManager clients) :
    IOpenIddictServerHandler<ProcessAuthenticationContext>, IOpenIddictServerHandler<ValidateEndSessionRequestContext>
{
    /// <summary>Before OpenIddict validates the hint.</summary>
    public static OpenIddictServerHandlerDescriptor HintDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
        .UseScopedHandler<EndSessionHints>()
        .SetOrder(ValidateIdentityToken.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>Once the hint is validated, before OpenIddict checks the post-logout URI.</summary>
    public static OpenIddictServerHandlerDescriptor RedirectDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateEndSessionRequestContext>()
        .UseScopedHandler<EndSessionHints>()
        .SetOrder(Session.ValidateClientPostLogoutRedirectUri.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (context.EndpointType != OpenIddictServerEndpointType.EndSession || string.IsNullOrEmpty(context.IdentityToken)) return;
        context.RejectIdentityToken = true;
        var handler = new JsonWebTokenHandler();
        if (!handler.CanReadToken(context.IdentityToken)) return;
        var kid = handler.ReadJsonWebToken(context.IdentityToken).Kid;
        if (kid is null || (await keys.GetPublishedKeysAsync(context.CancellationToken)).Any(k => k.KeyId == kid)) return;
        await keys.RefreshAsync(context.CancellationToken);
        if ((await keys.GetPublishedKeysAsync(context.CancellationToken)).Any(k => k.KeyId == kid)) return;
        context.Logger.LogInformation("id_token_hint signed by a key that is no longer published: treated as absent");
        context.IdentityToken = null;
        context.ValidateIdentityToken = false;
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateEndSessionRequestContext context)
    {
        if (context.PostLogoutRedirectUri is not { } uri) return;
        var clientId = context.ClientId ?? context.IdentityTokenHintPrincipal?.GetAudiences().FirstOrDefault();
        if (clientId is null)
        {
            context.Reject(Errors.InvalidRequest, "A post_logout_redirect_uri needs the client: send id_token_hint or client_id.");
            return;
        }
        if (await clients.FindByClientIdAsync(clientId, context.CancellationToken) is not { } application
            || !await clients.ValidatePostLogoutRedirectUriAsync(application, uri, context.CancellationToken))
            context.Reject(Errors.InvalidRequest, "The post_logout_redirect_uri is not registered for this client.");
    }
}
