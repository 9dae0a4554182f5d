using System.Security.Cryptography;
using System.Text;
using IdentityServer.Audit;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers.Protection;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// A single-use token presented again after it was redeemed (OpenIddict alone would revoke the token's whole authorization wherever
/// that happens, whoever presents it, even when a person opens an approved user code a second time):
/// <list type="bullet">
/// <item>at the token endpoint, an authorization code presented by the client it was issued to, with the <c>redirect_uri</c> of the
/// authorization request and a <c>code_verifier</c> that matches its challenge: everything issued from it is revoked (RFC 6749 §4.1.2:
/// the server "SHOULD revoke (when possible) all tokens previously issued based on that authorization code"; RFC 9700 §4.5), access
/// tokens included, and the reuse is audited;</item>
/// <item>at the token endpoint, a rotated refresh token presented by its client outside the configured reuse leeway (RFC 9700
/// §4.14.2: the server cannot tell the legitimate client from an attacker, so the whole family goes), likewise;</item>
/// <item>the same token presented by anyone else, or with a wrong <c>redirect_uri</c> or verifier: <c>invalid_grant</c>, and nothing
/// changes, so a stolen used code cannot be used to cut off the person's session (the order node-oidc-provider keeps);</item>
/// <item>at the token endpoint, a device code that already yielded tokens: <c>invalid_grant</c>, and nothing is revoked (RFC 8628
/// §3.5 asks for no more; a device that polls once too often after success must not lose the tokens it just got);</item>
/// <item>at the revocation endpoint, a rotated refresh token sent by its own client: its family is revoked, as for a current one
/// (RFC 7009 §2.1), with an empty 200;</item>
/// <item>anywhere else (introspection, revocation, the verification page): the token is refused as invalid
/// (<c>{"active": false}</c>, an empty 200, "already used") and nothing is revoked, since no one tried to obtain tokens with it.</item>
/// </list>
/// The client is authenticated before tokens are validated (OpenIddict checks the secret first), so "its client" is known here.
/// </summary>
public sealed class TokenReuse(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, IAuditLog audit) :
    IOpenIddictServerHandler<ValidateTokenContext>
{
    /// <summary>After the token's signature and expiry were checked, before OpenIddict checks its entry.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ValidateTokenContext>()
        .UseScopedHandler<TokenReuse>()
        .SetOrder(ValidateTokenEntry.Descriptor.Order - 200)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ValidateTokenContext context)
    {
        if (context.Principal is not { } principal || string.IsNullOrEmpty(context.TokenId)) return;
        var type = principal.GetTokenType();
        if (type is not (TokenTypeIdentifiers.Private.AuthorizationCode or TokenTypeIdentifiers.RefreshToken
            or TokenTypeIdentifiers.Private.DeviceCode or TokenTypeIdentifiers.Private.UserCode)) return;
        if (await tokens.FindByIdAsync(context.TokenId, context.CancellationToken) is not { } token
            || !await tokens.HasStatusAsync(token, Statuses.Redeemed, context.CancellationToken)) return;

        if (context.EndpointType == OpenIddictServerEndpointType.Token)
        {
            if (type == TokenTypeIdentifiers.Private.DeviceCode)
            {
                context.Logger.LogInformation("Device code presented again after it was redeemed");
                context.Reject(Errors.InvalidGrant, "The device code has already been used.");
                return;
            }
            if (type == TokenTypeIdentifiers.RefreshToken && await WithinReuseLeewayAsync(tokens, token, context.Options, context.CancellationToken))
                return; // within the leeway: OpenIddict lets it through

            var kind = type == TokenTypeIdentifiers.RefreshToken ? "refresh_token" : "authorization_code";
            if (PresentedByItsClient(principal, context.Transaction.Request, type))
                await RevokeFamilyAsync(tokens, authorizations, audit, context.Logger, context.AuthorizationId, context.Transaction.Request?.ClientId,
                    kind, context.CancellationToken);
            else
                context.Logger.LogWarning("A used {Kind} was presented by {ClientId}, who is not its client or could not prove it; nothing revoked",
                    kind, context.Transaction.Request?.ClientId);
            context.Reject(Errors.InvalidGrant, type == TokenTypeIdentifiers.RefreshToken
                ? "The refresh token has already been used." : "The authorization code has already been used.");
            return;
        }

        if (context.EndpointType == OpenIddictServerEndpointType.Revocation && type == TokenTypeIdentifiers.RefreshToken
            && context.Transaction.Request?.ClientId is { } clientId && principal.HasPresenter(clientId)
            && await RevokeAuthorizationAsync(tokens, authorizations, context.AuthorizationId, context.CancellationToken))
            context.Logger.LogInformation("Rotated refresh token revoked by {ClientId}; its authorization {AuthorizationId} and tokens revoked",
                clientId, context.AuthorizationId);
        context.Reject(Errors.InvalidToken, "The token has already been used.");
    }

    /// <summary>
    /// Revokes the authorization <paramref name="authorizationId"/> and every token issued from it, and records the reuse in the audit
    /// log (<see cref="AuditEvents.TokenReuseDetected"/>, no token value).
    /// </summary>
    public static async Task RevokeFamilyAsync(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations, IAuditLog audit,
        ILogger logger, string? authorizationId, string? clientId, string kind, CancellationToken ct)
    {
        if (!await RevokeAuthorizationAsync(tokens, authorizations, authorizationId, ct)) return;
        logger.LogWarning("{Kind} reuse detected for client {ClientId}; authorization {AuthorizationId} revoked", kind, clientId, authorizationId);
        await audit.RecordAsync(new AuditEntry(AuditEvents.TokenReuseDetected, "client", clientId, "grant", authorizationId,
            $"{kind} used again; grant revoked"), CancellationToken.None);
    }

    /// <summary>
    /// True when <paramref name="request"/> comes from the client the token was issued to (a presenter of it) and, for a code, carries
    /// the authorization request's <c>redirect_uri</c> (RFC 6749 §4.1.3) and a <c>code_verifier</c> whose S256 hash is the code's
    /// challenge (RFC 7636 §4.6): the checks OpenIddict makes after this point, made before anything is revoked.
    /// </summary>
    private static bool PresentedByItsClient(System.Security.Claims.ClaimsPrincipal principal, OpenIddictRequest? request, string type)
    {
        if (request?.ClientId is not { Length: > 0 } clientId || !principal.HasPresenter(clientId)) return false;
        if (type != TokenTypeIdentifiers.Private.AuthorizationCode) return true;
        if (principal.GetClaim(Claims.Private.RedirectUri) is { Length: > 0 } redirectUri && !string.Equals(redirectUri, request.RedirectUri, StringComparison.Ordinal))
            return false;
        if (principal.GetClaim(Claims.Private.CodeChallenge) is not { Length: > 0 } challenge) return true;
        if (request.CodeVerifier is not { } verifier || !PkceSyntax.IsWellFormed(verifier)) return false;
        var computed = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(challenge));
    }

    /// <summary>
    /// True when the redeemed refresh token <paramref name="token"/> was redeemed less than the configured reuse leeway ago
    /// (<c>Lifetimes:RefreshTokenReuseLeewaySeconds</c>; none by default), so presenting it again is not reuse.
    /// </summary>
    public static async ValueTask<bool> WithinReuseLeewayAsync(IOpenIddictTokenManager tokens, object token, OpenIddictServerOptions options, CancellationToken ct) =>
        options.RefreshTokenReuseLeeway is { } leeway && await tokens.GetRedemptionDateAsync(token, ct) is { } redeemed
        && options.TimeProvider.GetUtcNow() < redeemed + leeway;

    /// <summary>
    /// Revokes the authorization <paramref name="authorizationId"/> (one sign-in's token family) and every token entry issued from it;
    /// access tokens of the family are refused from then on because their authorization is no longer valid.
    /// </summary>
    /// <returns>False when <paramref name="authorizationId"/> is null or empty (nothing to revoke).</returns>
    public static async Task<bool> RevokeAuthorizationAsync(IOpenIddictTokenManager tokens, IOpenIddictAuthorizationManager authorizations,
        string? authorizationId, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(authorizationId)) return false;
        if (await authorizations.FindByIdAsync(authorizationId, ct) is { } authorization) await authorizations.TryRevokeAsync(authorization, ct);
        await tokens.RevokeByAuthorizationIdAsync(authorizationId, ct);
        return true;
    }
}
