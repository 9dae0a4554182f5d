using IdentityServer.Hosting;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Counts every token endpoint response for <see cref="ServerMetrics"/>: one <c>idsrv.tokens.issued</c> per response that carries an
/// access token (RFC 6749 §5.1), by grant type and client; one <c>idsrv.token.errors</c> per error response (§5.2, RFC 8628 §3.5), by
/// its error code. Runs first among the response handlers, before anything is written.
/// </summary>
public sealed class TokenEndpointMetrics(ServerMetrics metrics) : IOpenIddictServerHandler<ApplyTokenResponseContext>
{
    /// <summary>First of the token response handlers.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyTokenResponseContext>()
        .UseSingletonHandler<TokenEndpointMetrics>()
        .SetOrder(int.MinValue + 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyTokenResponseContext context)
    {
        if (!string.IsNullOrEmpty(context.Response.Error)) metrics.TokenError(context.Response.Error);
        else if (!string.IsNullOrEmpty(context.Response.AccessToken)) metrics.TokenIssued(context.Request?.GrantType, context.Request?.ClientId);
        return ValueTask.CompletedTask;
    }
}
