using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Userinfo answers a request without an access token (none, or one in another scheme than Bearer) like one with a bad token: 401 with
/// <c>WWW-Authenticate: Bearer error="invalid_token"</c>. RFC 6750 §3.1 lets a server omit the error code there; this server has always
/// named it, and clients handle both alike (OpenIddict would answer <c>missing_token</c>, without a code in the challenge).
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
