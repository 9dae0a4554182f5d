using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The syntax of PKCE values (RFC 7636 §4.1 and §4.2: 43 to 128 characters of <c>[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"</c>),
/// which OpenIddict does not check: a malformed <c>code_challenge</c> is <c>invalid_request</c> at the authorization endpoint, sent
/// back to the client once its redirect URI is known good; a malformed <c>code_verifier</c> cannot match the challenge, so it is
/// <c>invalid_grant</c> at the token endpoint (RFC 7636 §4.6), and the code stays usable by its rightful holder.
/// </summary>
public sealed class PkceSyntax : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>, IOpenIddictServerHandler<ValidateTokenRequestContext>
{
    /// <summary>The handler's descriptors: once the redirect URI is trusted; just before OpenIddict compares the verifier.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateAuthorizationRequestContext>().UseSingletonHandler<PkceSyntax>()
            .SetOrder(Authentication.ValidateClientRedirectUri.Descriptor.Order + 300).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenRequestContext>().UseSingletonHandler<PkceSyntax>()
            .SetOrder(Exchange.ValidateCodeVerifier.Descriptor.Order - 1).SetType(OpenIddictServerHandlerType.Custom).Build(),
    ];

    /// <summary>True when <paramref name="value"/> is a well-formed code verifier or challenge (RFC 7636 §4.1).</summary>
    public static bool IsWellFormed(string value) =>
        value.Length is >= 43 and <= 128 && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~');

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
    {
        if (context.Request.CodeChallenge is { Length: > 0 } challenge && !IsWellFormed(challenge))
        {
            context.Logger.LogInformation("Authorization request of {ClientId} refused: malformed code_challenge", context.ClientId);
            context.Reject(Errors.InvalidRequest, "The code_challenge is malformed.");
        }
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ValidateTokenRequestContext context)
    {
        if (context.Request.IsAuthorizationCodeGrantType() && context.Request.CodeVerifier is { Length: > 0 } verifier && !IsWellFormed(verifier))
        {
            context.Logger.LogInformation("Token request of {ClientId} refused: malformed code_verifier", context.ClientId);
            context.Reject(Errors.InvalidGrant, "The code_verifier does not match the code_challenge.");
        }
        return ValueTask.CompletedTask;
    }
}
