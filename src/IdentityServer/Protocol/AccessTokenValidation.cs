using System.Security.Claims;
using IdentityServer.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Protocol;

/// <summary>
/// Validates an access token of this server where this server is itself the resource outside OpenIddict's endpoints (the admin
/// API), by running OpenIddict's own token validation, with our handlers, so every rule holds exactly as at userinfo: a JWT with
/// <c>typ: at+jwt</c> (RFC 9068 §4) signed by a published key, this issuer, unexpired, not revoked (alone or with its authorization).
/// The audience must include the issuer (RFC 9068 §4: the resource checks it is among the audiences).
/// </summary>
public sealed class AccessTokenValidation(IOpenIddictServerFactory factory, IOpenIddictServerDispatcher dispatcher, IdentityServerOptions options)
{
    /// <summary>The token's principal, or null with the reason (for the log, never for the caller).</summary>
    public async Task<(ClaimsPrincipal? Principal, string? Problem)> ValidateAsync(string token, CancellationToken ct)
    {
        var transaction = await factory.CreateTransactionAsync();
        transaction.CancellationToken = ct;
        transaction.Request = new OpenIddictRequest();
        var context = new OpenIddictServerEvents.ValidateTokenContext(transaction) { Token = token };
        context.ValidTokenTypes.Add(TokenTypeIdentifiers.AccessToken);
        context.ValidAudiences.Add(options.Issuer);
        await dispatcher.DispatchAsync(context);
        return context.IsRejected || context.Principal is null ? (null, context.ErrorDescription ?? "The access token is invalid.") : (context.Principal, null);
    }
}
