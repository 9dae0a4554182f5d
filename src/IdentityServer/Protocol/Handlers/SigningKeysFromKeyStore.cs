using IdentityServer.Keys;
using IdentityServer.Protocol.Clients;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Signing and validation follow the key store (<see cref="ISigningKeyStore"/>), so every node signs with the key that is active
/// now and trusts exactly the keys that are published now, whatever OpenIddict's options held at start-up:
/// <list type="bullet">
/// <item>an access token is signed with the active key of the first configured algorithm; an ID token with the active key of the
/// client's <c>id_token_signed_response_alg</c> (OpenID Connect Dynamic Client Registration §2) when it has one;</item>
/// <item>a token is validated against the published keys (published, active, retired; RFC 7517 key ids); a <c>kid</c> this node does
/// not know yet (another node rotated a moment ago) makes the store re-read the database once, rate-limited, before the token is
/// refused.</item>
/// </list>
/// The tokens only this server reads (codes, refresh tokens, device and user codes; encrypted, so a JWE) are signed and validated
/// with <see cref="ServerTokenKeys.SigningKeys"/> instead, which never rotate: a refresh token outlives the days a retired key stays
/// published.
/// </summary>
public sealed class SigningKeysFromKeyStore(ISigningKeyStore keys, ServerTokenKeys serverTokenKeys, ClientApplicationManager clients) :
    IOpenIddictServerHandler<GenerateTokenContext>, IOpenIddictServerHandler<ValidateTokenContext>
{
    /// <summary>After OpenIddict attached the credentials of its options, before the token is written.</summary>
    public static OpenIddictServerHandlerDescriptor SigningDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
        .UseScopedHandler<SigningKeysFromKeyStore>()
        .SetOrder(AttachSecurityCredentials.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>
    /// After OpenIddict resolved the validation parameters and replaced a reference token's identifier with its stored payload, before
    /// the token's signature is checked.
    /// </summary>
    public static OpenIddictServerHandlerDescriptor ValidationDescriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseScopedHandler<SigningKeysFromKeyStore>()
        .SetOrder(ValidateReferenceTokenIdentifier.Descriptor.Order + 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(GenerateTokenContext context)
    {
        if (context.TokenType is not (TokenTypeIdentifiers.AccessToken or TokenTypeIdentifiers.IdentityToken))
        {
            context.SigningCredentials = new SigningCredentials(serverTokenKeys.SigningKeys[0], SecurityAlgorithms.HmacSha256);
            return;
        }
        string? algorithm = null;
        if (context.TokenType == TokenTypeIdentifiers.IdentityToken && context.ClientId is { } clientId
            && await clients.FindByClientIdAsync(clientId, context.CancellationToken) is { } application)
            algorithm = (await clients.GetProfileAsync(application, context.CancellationToken)).IdTokenSignedResponseAlg;
        context.SigningCredentials = await keys.GetSigningCredentialsAsync(context.CancellationToken, algorithm);
    }

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.TokenValidationParameters is not { } parameters) return;
        if (context.Token is { } token && token.Count(c => c == '.') == 4)
        {
            // A JWE: one of the server's own tokens, never signed with a published key.
            parameters.IssuerSigningKeys = serverTokenKeys.SigningKeys;
            parameters.IssuerSigningKeyResolver = null;
            return;
        }
        var published = await keys.GetPublishedKeysAsync(context.CancellationToken);
        parameters.IssuerSigningKeys = published;
        parameters.IssuerSigningKeyResolver = (_, _, kid, _) =>
        {
            var current = keys.GetPublishedKeysAsync().GetAwaiter().GetResult();
            if (kid is null || current.Any(k => k.KeyId == kid)) return current;
            // Unknown kid: re-read the keys once (rate-limited in the store) and try with what the database says now.
            Task.Run(() => keys.RefreshAsync()).GetAwaiter().GetResult();
            return keys.GetPublishedKeysAsync().GetAwaiter().GetResult();
        };
    }
}
