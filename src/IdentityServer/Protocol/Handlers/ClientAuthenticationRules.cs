using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The order in which the token endpoint judges a client, so that each failure gets the error RFC 6749 §5.2 names for it:
/// <list type="number">
/// <item>client authentication: a malformed <c>Authorization: Basic</c> header, a confidential client without credentials, or a public
/// client that sends a secret (public clients do not authenticate, §2.1) → <c>invalid_client</c>, 401 with <c>WWW-Authenticate</c>;</item>
/// <item>then the grant: a grant type the client is not registered for (a public client asking for <c>client_credentials</c>
/// included, §4.4) → <c>unauthorized_client</c>, 400, before the code, refresh token or device code is looked at;</item>
/// <item>only then the grant itself (<c>invalid_grant</c>).</item>
/// </list>
/// OpenIddict answers some of these with <c>invalid_request</c>, or checks the grant before the grant type permission; these handlers
/// run first. A malformed Basic header is <c>invalid_client</c> at every endpoint that authenticates clients, and so is a public client
/// at the introspection endpoint (RFC 7662 §2.1 protects it; only a client that can authenticate may ask).
/// </summary>
public sealed class ClientAuthenticationRules(ClientApplicationManager clients) :
    IOpenIddictServerHandler<ValidateTokenRequestContext>, IOpenIddictServerHandler<ProcessAuthenticationContext>
{
    /// <summary>The description of the error for a malformed Basic header.</summary>
    public const string MalformedBasic = "The client credentials in the Authorization header are malformed (RFC 6749 §2.3.1).";

    /// <summary>The handler's descriptors.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        // client_credentials without credentials: before OpenIddict answers invalid_request.
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>().UseScopedHandler<ClientAuthenticationRules>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateClientCredentialsParameters.Descriptor.Order - 1).SetType(OpenIddictServerHandlerType.Custom).Build(),
        // A public client sending a secret: before OpenIddict's client type check answers unauthorized_client for client_credentials.
        OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>().UseScopedHandler<ClientAuthenticationRules>()
            .SetOrder(ValidateClientType.Descriptor.Order - 1).SetType(OpenIddictServerHandlerType.Custom).Build(),
        GrantTypePermission.Descriptor,
        Basic<ExtractTokenRequestContext>.Descriptor, Basic<ExtractDeviceAuthorizationRequestContext>.Descriptor,
        Basic<ExtractIntrospectionRequestContext>.Descriptor, Basic<ExtractRevocationRequestContext>.Descriptor,
    ];

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        var request = context.Request;
        if (!request.IsClientCredentialsGrantType() || !string.IsNullOrEmpty(request.ClientSecret) || !string.IsNullOrEmpty(request.ClientAssertion)
            || context.Transaction.RemoteCertificate is not null) return;
        var application = string.IsNullOrEmpty(request.ClientId) ? null : await clients.FindByClientIdAsync(request.ClientId, context.CancellationToken);
        if (application is not null && await clients.HasClientTypeAsync(application, ClientTypes.Public, context.CancellationToken))
        {
            context.Logger.LogInformation("Token request of public client {ClientId} refused: client_credentials needs a confidential client", request.ClientId);
            context.Reject(Errors.UnauthorizedClient, "The client_credentials grant is for confidential clients only.");
            return;
        }
        context.Logger.LogInformation("Token request refused: client_credentials without client authentication");
        context.Reject(Errors.InvalidClient, "Client authentication is required.");
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(ProcessAuthenticationContext context)
    {
        if (context.EndpointType is not (OpenIddictServerEndpointType.Token or OpenIddictServerEndpointType.DeviceAuthorization
                or OpenIddictServerEndpointType.Introspection or OpenIddictServerEndpointType.Revocation)
            || string.IsNullOrEmpty(context.ClientId)) return;
        var introspection = context.EndpointType == OpenIddictServerEndpointType.Introspection;
        if (string.IsNullOrEmpty(context.ClientSecret) && !introspection) return;
        if (await clients.FindByClientIdAsync(context.ClientId, context.CancellationToken) is not { } application
            || !await clients.HasClientTypeAsync(application, ClientTypes.Public, context.CancellationToken)) return;
        if (introspection)
        {
            context.Logger.LogInformation("Introspection by public client {ClientId} refused: it cannot authenticate", context.ClientId);
            context.Reject(Errors.InvalidClient, "The introspection endpoint requires client authentication.");
            return;
        }
        context.Logger.LogInformation("Request of public client {ClientId} refused: it sent a client secret", context.ClientId);
        context.Reject(Errors.InvalidClient, "A public client does not authenticate with a client secret.");
    }

    /// <summary>
    /// Once the client is authenticated and before any token in the request is validated: the grant type must be one the client is
    /// registered for, else <c>unauthorized_client</c> (RFC 6749 §5.2).
    /// </summary>
    public sealed class GrantTypePermission(ClientApplicationManager clients) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        /// <summary>After OpenIddict's client authentication (secret, certificate), before the request's tokens are validated.</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseScopedHandler<GrantTypePermission>()
            .SetOrder(ValidateClientCertificate.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (context.EndpointType != OpenIddictServerEndpointType.Token || context.Request?.GrantType is not { Length: > 0 } grantType
                || string.IsNullOrEmpty(context.ClientId)
                || await clients.FindByClientIdAsync(context.ClientId, context.CancellationToken) is not { } application) return;
            if (await clients.HasPermissionAsync(application, Permissions.Prefixes.GrantType + grantType, context.CancellationToken)) return;
            context.Logger.LogInformation("Token request of {ClientId} refused: the client is not registered for the grant type", context.ClientId);
            context.Reject(Errors.UnauthorizedClient, "The client is not registered for this grant type.");
        }
    }

    /// <summary>A <c>Basic</c> Authorization header that is not base64 of <c>client_id:client_secret</c> is failed client authentication.</summary>
    /// <typeparam name="TContext">The endpoint's extraction context.</typeparam>
    public sealed class Basic<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseValidatingContext
    {
        /// <summary>Just before OpenIddict reads the header (it answers <c>invalid_request</c>).</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<Basic<TContext>>()
            .SetOrder(ExtractBasicAuthenticationCredentials<TContext>.Descriptor.Order - 1)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public ValueTask HandleAsync(TContext context)
        {
            var header = context.Transaction.GetHttpRequest()?.Headers.Authorization.ToString();
            if (string.IsNullOrEmpty(header) || !header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return ValueTask.CompletedTask;
            var encoded = header["Basic ".Length..].Trim();
            var buffer = new byte[(encoded.Length * 3 + 3) / 4];
            if (!Convert.TryFromBase64String(encoded, buffer, out var length) || Array.IndexOf(buffer, (byte)':', 0, length) < 1)
            {
                context.Logger.LogInformation("Request refused: malformed Basic credentials");
                context.Reject(Errors.InvalidClient, MalformedBasic);
            }
            return ValueTask.CompletedTask;
        }
    }
}
