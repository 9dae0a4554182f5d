using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Access tokens and ID tokens get no row in the token table. Both are self-contained JWTs (RFC 9068; OpenID Connect Core 1.0 §2) that
/// their audience validates from JWKS, and a row per token would make the database the bottleneck of every token request. What a
/// row was for stays true without it: an access token revoked alone is on the revoked list (<see cref="RevokedAccessTokens"/>), and a
/// token whose authorization is revoked (reuse of a code or refresh token, revocation of a refresh token) is refused through its
/// authorization (OpenIddict's authorization entry check). An ID token is never revoked; the end-session endpoint reads one as a hint.
/// </summary>
public sealed class NoEntriesForSelfContainedTokens : IOpenIddictServerHandler<GenerateTokenContext>
{
    /// <summary>Before OpenIddict creates the token entry.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>()
        .UseSingletonHandler<NoEntriesForSelfContainedTokens>()
        .SetOrder(CreateTokenEntry.Descriptor.Order - 250)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(GenerateTokenContext context)
    {
        if (context.TokenType is TokenTypeIdentifiers.AccessToken or TokenTypeIdentifiers.IdentityToken) context.CreateTokenEntry = false;
        return ValueTask.CompletedTask;
    }
}
