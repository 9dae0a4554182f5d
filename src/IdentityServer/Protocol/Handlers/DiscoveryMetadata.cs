using IdentityServer.Keys;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Discovery;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// What the discovery document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2) says beyond what OpenIddict derives from its options:
/// <list type="bullet">
/// <item><c>id_token_signing_alg_values_supported</c>: the algorithms of the key store (<c>IdentityServer:Keys:Algorithms</c>);</item>
/// <item>back-channel logout with <c>sid</c> and no front-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.1, Front-Channel
/// Logout 1.0 §3);</item>
/// <item>the client authentication methods of each endpoint: <c>client_secret_basic</c> and <c>client_secret_post</c>, and <c>none</c> (a
/// public client sends its <c>client_id</c> alone) where public clients may call: token, device authorization, revocation.</item>
/// </list>
/// </summary>
public sealed class DiscoveryMetadata(ISigningKeyStore keys) : IOpenIddictServerHandler<HandleConfigurationRequestContext>
{
    /// <summary>After OpenIddict wrote its metadata.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>()
        .UseSingletonHandler<DiscoveryMetadata>()
        .SetOrder(AttachAdditionalMetadata.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    private static readonly string[] Confidential = [ClientAuthenticationMethods.ClientSecretBasic, ClientAuthenticationMethods.ClientSecretPost];
    private static readonly string[] AnyClient = [.. Confidential, ClientAuthenticationMethods.None];

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        context.IdTokenSigningAlgorithms.Clear();
        context.IdTokenSigningAlgorithms.UnionWith(keys.Algorithms);
        Replace(context.TokenEndpointAuthenticationMethods, AnyClient);
        Replace(context.DeviceAuthorizationEndpointAuthenticationMethods, AnyClient);
        Replace(context.RevocationEndpointAuthenticationMethods, AnyClient);
        Replace(context.IntrospectionEndpointAuthenticationMethods, Confidential);
        context.Metadata[ProtocolNames.Metadata.BackchannelLogoutSupported] = true;
        context.Metadata[ProtocolNames.Metadata.BackchannelLogoutSessionSupported] = true;
        context.Metadata[ProtocolNames.Metadata.FrontchannelLogoutSupported] = false;
        return ValueTask.CompletedTask;
    }

    private static void Replace(HashSet<string> set, string[] values)
    {
        set.Clear();
        set.UnionWith(values);
    }
}
