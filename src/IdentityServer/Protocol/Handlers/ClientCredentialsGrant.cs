using System.Security.Claims;
using IdentityServer.Options;
using IdentityServer.Protocol.Clients;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// <c>grant_type=client_credentials</c> (RFC 6749 §4.4), for confidential clients only (OpenIddict refuses public ones with
/// <c>unauthorized_client</c>):
/// <list type="number">
/// <item>the scopes follow <see cref="ScopeCatalog.ClientCredentialsScopes"/>: API scopes the client is allowed, never identity scopes;
/// none asked for means all but <c>idp.admin</c>; else <c>invalid_scope</c>;</item>
/// <item>the access token is the client's own (RFC 9068 §2.2: <c>sub</c> is the <c>client_id</c>), its audiences are the scopes' resources,
/// and nothing else is issued: no refresh token (§4.4.3), no ID token, no authorization entry.</item>
/// </list>
/// </summary>
public sealed class ClientCredentialsGrant(ClientApplicationManager clients, ScopeCatalog catalog, IdentityServerOptions options) :
    IOpenIddictServerHandler<ValidateTokenRequestContext>, IOpenIddictServerHandler<HandleTokenRequestContext>
{
    /// <summary>Once the client is authenticated and may use the grant.</summary>
    public static OpenIddictServerHandlerDescriptor ValidationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>()
        .UseScopedHandler<ClientCredentialsGrant>()
        .SetOrder(Exchange.ValidateGrantTypePermissions.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>When the request is handled: makes the principal OpenIddict signs in.</summary>
    public static OpenIddictServerHandlerDescriptor SignInDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleTokenRequestContext>()
        .UseScopedHandler<ClientCredentialsGrant>()
        .SetOrder(Exchange.AttachPrincipal.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        if (!context.Request.IsClientCredentialsGrantType() || context.ClientId is not { } clientId
            || await clients.FindByClientIdAsync(clientId, context.CancellationToken) is not { } application) return;
        var allowed = (await clients.GetProfileAsync(application, context.CancellationToken)).Scopes.ToHashSet(StringComparer.Ordinal);
        var (scopes, error) = catalog.ClientCredentialsScopes(context.Request.Scope, allowed);
        if (error is not null)
        {
            context.Logger.LogInformation("client_credentials request of {ClientId} refused: {Description}", clientId, error.Description);
            context.Reject(error.Error, error.Description);
            return;
        }
        context.Request.Scope = Scopes.Join(scopes);
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleTokenRequestContext context)
    {
        if (!context.Request.IsClientCredentialsGrantType() || context.Request.ClientId is not { } clientId) return ValueTask.CompletedTask;
        var scopes = Scopes.Parse(context.Request.Scope);
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaultsScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, clientId).SetClaim(Claims.ClientId, clientId);
        identity.SetScopes(scopes).SetAudiences(catalog.AudiencesFor(scopes, options.Issuer));
        identity.SetDestinations(_ => [Destinations.AccessToken]);
        context.SignIn(new ClaimsPrincipal(identity));
        return ValueTask.CompletedTask;
    }

    private const string OpenIddictServerAspNetCoreDefaultsScheme = OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreDefaults.AuthenticationScheme;
}
