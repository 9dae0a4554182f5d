using IdentityServer.Keys;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Discovery;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The JWKS document (RFC 7517 §5) lists the public part of every published signing key of the key store (published, active and
/// retired: RSA <c>n e</c>, EC <c>crv x y</c>; RFC 7518 §6), with <c>kid</c>, <c>use: sig</c> and <c>alg</c>, and nothing else: never a
/// private part, never the token encryption key.
/// </summary>
public sealed class JwksFromKeyStore(ISigningKeyStore keys) : IOpenIddictServerHandler<HandleJsonWebKeySetRequestContext>
{
    /// <summary>Where OpenIddict's own <c>AttachSigningKeys</c> ran (it is removed: this handler makes the whole list).</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<HandleJsonWebKeySetRequestContext>()
        .UseSingletonHandler<JwksFromKeyStore>()
        .SetOrder(AttachSigningKeys.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(HandleJsonWebKeySetRequestContext context)
    {
        context.Keys.Clear();
        foreach (var key in await keys.GetPublishedKeysAsync(context.CancellationToken))
        {
            var copy = new JsonWebKey { Kty = key.Kty, Use = key.Use, Alg = key.Alg, Kid = key.Kid };
            if (key.Kty == JsonWebAlgorithmsKeyTypes.EllipticCurve) { copy.Crv = key.Crv; copy.X = key.X; copy.Y = key.Y; }
            else { copy.N = key.N; copy.E = key.E; }
            context.Keys.Add(copy);
        }
    }
}
