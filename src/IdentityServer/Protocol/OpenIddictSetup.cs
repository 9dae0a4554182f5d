using IdentityServer.Data;
using IdentityServer.Keys;
using IdentityServer.Options;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Endpoints;
using IdentityServer.Protocol.Handlers;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol;

/// <summary>
/// The protocol engine: OpenIddict's server on ASP.NET Core with its EF Core stores in <see cref="IdentityServerDbContext"/>.
/// OpenIddict handles token, device authorization, introspection, revocation, discovery and JWKS end to end; authorization,
/// end session, end-user verification (<c>/device</c>) and userinfo pass through to our endpoints and pages once OpenIddict has
/// validated the request. Our rules are event handlers, one per file in <c>Protocol/Handlers</c>.
/// </summary>
public static class OpenIddictSetup
{
    /// <summary>The endpoint paths, relative to the issuer; the same as before the engine moved.</summary>
    public static class Paths
    {
        public const string Discovery = ".well-known/openid-configuration";
        public const string Jwks = ".well-known/jwks.json";
        public const string Authorization = "connect/authorize";
        public const string Token = "connect/token";
        public const string UserInfo = "connect/userinfo";
        public const string DeviceAuthorization = "connect/deviceauthorization";
        public const string Introspection = "connect/introspect";
        public const string Revocation = "connect/revocation";
        public const string EndSession = "connect/endsession";

        /// <summary>Where people enter a user code (RFC 8628 §3.2 <c>verification_uri</c>); first, so OpenIddict advertises it.</summary>
        public const string Device = "device";

        /// <summary>Where people approve or deny the device request the code stands for.</summary>
        public const string DeviceConfirmation = "device/confirm";
    }

    /// <summary>Registers OpenIddict (core, EF Core stores, server, ASP.NET Core host) with this server's rules.</summary>
    public static IServiceCollection AddProtocol(this IServiceCollection services)
    {
        services.AddOpenIddict()
            .AddCore(o =>
            {
                o.UseEntityFrameworkCore().UseDbContext<IdentityServerDbContext>();
                o.ReplaceApplicationManager<OpenIddictEntityFrameworkCoreApplication, ClientApplicationManager>();
            })
            .AddServer(o =>
            {
                o.SetConfigurationEndpointUris(Paths.Discovery)
                    .SetJsonWebKeySetEndpointUris(Paths.Jwks)
                    .SetAuthorizationEndpointUris(Paths.Authorization)
                    .SetTokenEndpointUris(Paths.Token)
                    .SetUserInfoEndpointUris(Paths.UserInfo)
                    .SetDeviceAuthorizationEndpointUris(Paths.DeviceAuthorization)
                    .SetIntrospectionEndpointUris(Paths.Introspection)
                    .SetRevocationEndpointUris(Paths.Revocation)
                    .SetEndSessionEndpointUris(Paths.EndSession)
                    .SetEndUserVerificationEndpointUris(Paths.Device, Paths.DeviceConfirmation);

                o.AllowAuthorizationCodeFlow().AllowClientCredentialsFlow().AllowDeviceAuthorizationFlow().AllowRefreshTokenFlow();
                o.RequireProofKeyForCodeExchange();

                // Access tokens are RFC 9068 JWTs that resource servers validate from JWKS: signed, not encrypted. Refresh tokens are
                // opaque references (the payload stays in the database, like codes), so they are short and revocable.
                o.DisableAccessTokenEncryption();
                o.UseReferenceRefreshTokens();

                // What a client may do follows from its grant types and scopes: grant types are OpenIddict permissions, and the scope
                // rules are ours (EndUserScopes, ClientCredentialsGrant) so they answer invalid_scope as RFC 6749 §3.3 asks.
                o.IgnoreEndpointPermissions().IgnoreResponseTypePermissions().IgnoreScopePermissions();

                o.SetUserCodeCharset([.. UserCode.Alphabet.Select(c => c.ToString())]);
                o.SetUserCodeLength(UserCode.Length);
                o.SetUserCodeDisplayFormat(UserCode.DisplayFormat);

                o.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableEndSessionEndpointPassthrough()
                    .EnableEndUserVerificationEndpointPassthrough()
                    .EnableUserInfoEndpointPassthrough()
                    .EnableErrorPassthrough()
                    // An https issuer is enforced by RequireHttpsMiddleware for every path (with the forwarded scheme behind a proxy);
                    // an http issuer is for development and loopback only (IdentityServerOptionsValidator).
                    .DisableTransportSecurityRequirement()
                    .SetRealm("IdentityServer")
                    .SuppressJsonResponseIndentation();

                foreach (var descriptor in Handlers) o.AddEventHandler(descriptor);
                // JWKS lists the key store's keys (JwksFromKeyStore); OpenIddict's list of its options' keys, which exports each RSA
                // key's parameters on every request, would only be thrown away.
                o.RemoveEventHandler(OpenIddictServerHandlers.Discovery.AttachSigningKeys.Descriptor);
                // Revocation is ours: a refresh token takes its family with it, an access token goes on the revoked list.
                o.RemoveEventHandler(OpenIddictServerHandlers.Revocation.RevokeToken.Descriptor);
                o.RemoveEventHandler(UserInfoRequestExtraction.Replaced);
                // Codes and refresh tokens are redeemed by RedeemOnce; OpenIddict's handler stays for what RedeemOnce leaves.
                o.RemoveEventHandler(OpenIddictServerHandlers.RedeemTokenEntry.Descriptor);
                o.AddEventHandler(RedeemOnce.WhenNotRedeemedYet.Descriptor);
                // Introspection answers tell who a user is: not to be kept by caches (RFC 7662 §4).
                o.AddEventHandler(OpenIddictServerAspNetCoreHandlers.AttachCacheControlHeader<OpenIddictServerEvents.ApplyIntrospectionResponseContext>.Descriptor);
            });

        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ServerOptionsFromSettings>();
        services.AddSingleton<ILogger<OpenIddictServerDispatcher>, RedactingServerLogger>();
        services.AddScoped(sp => (ClientApplicationManager)sp.GetRequiredService<OpenIddict.Core.OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>>());
        services.AddScoped<AuthorizationErrors>();
        services.AddScoped<ClientAuthenticationThrottle>();
        services.AddSingleton<ServerTokenKeys>();
        services.AddSingleton<LogoutTokens>();
        services.AddSingleton<ClientCache>();
        services.AddSingleton<RedeemOnce.NotRedeemedYet>();
        return services;
    }

    /// <summary>Every event handler of ours, in no particular order (each descriptor carries its order).</summary>
    private static IEnumerable<OpenIddictServerHandlerDescriptor> Handlers =>
    [
        .. RequestParameterRules.Descriptors,
        .. ClientAuthenticationRules.Descriptors,
        .. ClientAuthenticationThrottling.Descriptors,
        .. ExactIssuer.Descriptors,
        SigningKeysFromKeyStore.SigningDescriptor, SigningKeysFromKeyStore.ValidationDescriptor,
        JwksFromKeyStore.Descriptor,
        DiscoveryMetadata.Descriptor,
        NoEntriesForSelfContainedTokens.Descriptor,
        RevokedAccessTokens.ValidationDescriptor, RevokedAccessTokens.RevocationDescriptor, TokensOfEnabledClientsOnly.Descriptor,
        RevocationByItsClientOnly.Descriptor, RefreshTokenRevocation.Descriptor, EmptyRevocationResponse.Descriptor,
        .. OtherTokenTypesAreInactive.Descriptors, IntrospectionByItsClientOrAudience.Descriptor,
        TokenReuse.Descriptor,
        RedeemOnce.Descriptor,
        DevicePolling.PollDescriptor, DevicePolling.IntervalDescriptor,
        EndUserScopes.AuthorizationDescriptor, EndUserScopes.DeviceDescriptor, MaxAgeParameter.Descriptor,
        .. PkceSyntax.Descriptors, RequestUriNotSupported.Descriptor,
        ClientCredentialsGrant.ValidationDescriptor, ClientCredentialsGrant.SignInDescriptor,
        RefreshTokenScopes.ValidationDescriptor, RefreshTokenScopes.SignInDescriptor,
        AccessTokenAudiences.Descriptor,
        RequireActiveEndUser.Descriptor, RequireActiveEndUser.IntrospectionDescriptor,
        RefreshTokenAbsoluteLifetime.Descriptor,
        TokenResponseScope.Descriptor, ExpiresInIsTheLifetime.Descriptor,
        IntrospectionMembers.Descriptor,
        UserCodeInput.Descriptor,
        EndSessionHints.HintDescriptor, EndSessionHints.RedirectDescriptor,
        FormPostResponse.Descriptor,
        MissingTokenIsInvalidToken.Descriptor, UserInfoRequestExtraction.Descriptor,
        LogTokenIssuance.Descriptor, TokenEndpointMetrics.Descriptor,
    ];

    /// <summary>
    /// OpenIddict's options from <c>IdentityServer</c> settings: issuer, lifetimes, reuse leeway, the scopes, claims, prompt values and
    /// client authentication methods this server supports, S256 only, code only with <c>query</c> and <c>form_post</c>, the token
    /// encryption key, and the signing keys the key store holds when the options are first built (OpenIddict needs one at start-up;
    /// <see cref="SigningKeysFromKeyStore"/> follows the store afterwards).
    /// </summary>
    private sealed class ServerOptionsFromSettings(IdentityServerOptions settings, ScopeCatalog catalog, ISigningKeyStore keys,
        ServerTokenKeys serverTokenKeys) : IConfigureOptions<OpenIddictServerOptions>
    {
        public void Configure(OpenIddictServerOptions o)
        {
            o.Issuer = new Uri(settings.Issuer, UriKind.Absolute);
            var lifetimes = settings.Lifetimes;
            o.AuthorizationCodeLifetime = TimeSpan.FromSeconds(lifetimes.AuthorizationCodeSeconds);
            o.AccessTokenLifetime = TimeSpan.FromSeconds(lifetimes.AccessTokenSeconds);
            o.IdentityTokenLifetime = TimeSpan.FromSeconds(lifetimes.IdTokenSeconds);
            o.RefreshTokenLifetime = TimeSpan.FromSeconds(lifetimes.RefreshTokenSlidingSeconds);
            o.RefreshTokenReuseLeeway = lifetimes.RefreshTokenReuseLeewaySeconds > 0 ? TimeSpan.FromSeconds(lifetimes.RefreshTokenReuseLeewaySeconds) : null;
            o.DeviceCodeLifetime = TimeSpan.FromSeconds(settings.DeviceFlow.DeviceCodeLifetimeSeconds);
            o.UserCodeLifetime = TimeSpan.FromSeconds(settings.DeviceFlow.DeviceCodeLifetimeSeconds);

            o.Scopes.UnionWith(catalog.AllNames);
            o.Claims.UnionWith([Claims.Subject, Claims.Issuer, Claims.Audience, Claims.ExpiresAt, Claims.IssuedAt, Claims.AuthenticationTime,
                Claims.Nonce, Claims.AuthenticationMethodReference, Claims.AccessTokenHash, ProtocolNames.Claims.SessionId, Claims.Name,
                Claims.PreferredUsername, Claims.Email, Claims.EmailVerified]);
            Replace(o.PromptValues, PromptValues.None, PromptValues.Login, PromptValues.Consent, PromptValues.SelectAccount);
            Replace(o.CodeChallengeMethods, CodeChallengeMethods.Sha256);
            Replace(o.ResponseTypes, ResponseTypes.Code);
            Replace(o.ResponseModes, ResponseModes.Query, ResponseModes.FormPost);
            Replace(o.ClientAuthenticationMethods, ClientAuthenticationMethods.ClientSecretBasic, ClientAuthenticationMethods.ClientSecretPost, ClientAuthenticationMethods.None);

            foreach (var key in serverTokenKeys.EncryptionKeys)
                o.EncryptionCredentials.Add(new EncryptingCredentials(key, SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));
            foreach (var algorithm in keys.Algorithms)
                o.SigningCredentials.Add(keys.GetSigningCredentialsAsync(CancellationToken.None, algorithm).GetAwaiter().GetResult());
        }

        private static void Replace(HashSet<string> set, params string[] values)
        {
            set.Clear();
            set.UnionWith(values);
        }
    }
}
