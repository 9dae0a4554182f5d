using Microsoft.AspNetCore;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// A successful revocation is answered with 200 and an empty body (RFC 7009 §2.2: the client ignores the body, and there is
/// nothing to say), as for a token that was unknown; errors keep their JSON body.
/// </summary>
public sealed class EmptyRevocationResponse : IOpenIddictServerHandler<ApplyRevocationResponseContext>
{
    /// <summary>Before the ASP.NET Core host writes the response as JSON.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyRevocationResponseContext>()
        .UseSingletonHandler<EmptyRevocationResponse>()
        .SetOrder(OpenIddictServerAspNetCoreHandlers.ProcessJsonResponse<ApplyRevocationResponseContext>.Descriptor.Order - 1_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyRevocationResponseContext context)
    {
        if (context.Response.Error is not null || context.Transaction.GetHttpRequest()?.HttpContext.Response is not { } response) return ValueTask.CompletedTask;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentLength = 0;
        context.HandleRequest();
        return ValueTask.CompletedTask;
    }
}
