using IdentityServer.Protocol.Clients;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The scopes of a request made for an end-user, at the authorization endpoint and the device authorization endpoint (RFC 6749
/// §3.3, RFC 8628 §3.1): the rules of <see cref="ScopeCatalog.CheckEndUserScopes"/>, answered with <c>invalid_scope</c> (OpenIddict's
/// own scope permission check, which answers <c>invalid_request</c> and always lets <c>openid</c> and <c>offline_access</c> through, is
/// turned off). A device authorization request without <c>scope</c> asks for every scope the client is registered for (RFC 6749 §3.3:
/// the server uses a pre-defined default).
/// </summary>
public sealed class EndUserScopes(ClientApplicationManager clients, ScopeCatalog catalog) :
    IOpenIddictServerHandler<ValidateAuthorizationRequestContext>, IOpenIddictServerHandler<ValidateDeviceAuthorizationRequestContext>
{
    /// <summary>Once the client and its redirect URI are known good.</summary>
    public static OpenIddictServerHandlerDescriptor AuthorizationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>()
        .UseScopedHandler<EndUserScopes>()
        .SetOrder(Authentication.ValidateClientRedirectUri.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>Once the client is authenticated and may use the grant.</summary>
    public static OpenIddictServerHandlerDescriptor DeviceDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateDeviceAuthorizationRequestContext>()
        .UseScopedHandler<EndUserScopes>()
        .SetOrder(OpenIddictServerHandlers.Device.ValidateGrantTypePermissions.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context) => CheckAsync(context, context.Request, defaultToRegistered: false);

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateDeviceAuthorizationRequestContext context) => CheckAsync(context, context.Request, defaultToRegistered: true);

    private async ValueTask CheckAsync(BaseValidatingContext context, OpenIddictRequest request, bool defaultToRegistered)
    {
        if (request.ClientId is not { } clientId || await clients.FindByClientIdAsync(clientId, context.CancellationToken) is not { } application) return;
        var allowed = (await clients.GetProfileAsync(application, context.CancellationToken)).Scopes.ToHashSet(StringComparer.Ordinal);
        if (request.Scope is null && defaultToRegistered) request.Scope = Scopes.Join(allowed);
        if (catalog.CheckEndUserScopes(Scopes.Parse(request.Scope), allowed) is { } error)
        {
            context.Logger.LogInformation("Request of {ClientId} refused: {Description}", clientId, error.Description);
            context.Reject(error.Error, error.Description);
        }
    }
}
