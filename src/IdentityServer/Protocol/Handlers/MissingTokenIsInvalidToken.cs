using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Userinfo answers a request without an access token (none, or one in another scheme than Bearer) like one with a bad token: 401 with
/// <c>WWW-Authenticate: Bearer error="invalid_token"</c>, as this server always has. (RFC 6750 §3.1 says a resource server SHOULD NOT
/// put an error code in the challenge when the request carries no authentication at all; clients treat both answers alike, and
/// OpenIddict's own answer, <c>missing_token</c>, is not an RFC 6750 code either.)
/// </summary>
public sealed class MissingTokenIsInvalidToken : IOpenIddictServerHandler<ApplyUserInfoResponseContext>
{
    /// <summary>Before the status code and the challenge are written.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyUserInfoResponseContext>()
        .UseSingletonHandler<MissingTokenIsInvalidToken>()
        .SetOrder(AttachHttpResponseCode<ApplyUserInfoResponseContext>.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyUserInfoResponseContext context)
    {
        if (context.Response.Error == "missing_token")
        {
            context.Response.Error = Errors.InvalidToken;
            context.Response.ErrorDescription = "No access token was presented.";
            context.Response.ErrorUri = null;
        }
        return ValueTask.CompletedTask;
    }
}
