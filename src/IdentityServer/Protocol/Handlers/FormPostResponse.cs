using IdentityServer.Protocol.Endpoints;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers.Authentication;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Authorization responses with <c>response_mode=form_post</c> (OAuth 2.0 Form Post Response Mode §2) are written by
/// <see cref="AuthorizationResponseWriter"/>: the page's auto-submit script carries the response's CSP nonce and <c>form-action</c> is
/// limited to the client's origin. (OpenIddict's own page has an inline script that this server's Content-Security-Policy would block.)
/// </summary>
public sealed class FormPostResponse : IOpenIddictServerHandler<ApplyAuthorizationResponseContext>
{
    /// <summary>Before the ASP.NET Core host writes its form_post page.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>()
        .UseSingletonHandler<FormPostResponse>()
        .SetOrder(ProcessFormPostResponse.Descriptor.Order - 500)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public async ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
    {
        if (string.IsNullOrEmpty(context.RedirectUri) || context.ResponseMode != ResponseModes.FormPost
            || context.Transaction.GetHttpRequest()?.HttpContext is not { } http) return;
        var parameters = context.Response.GetParameters().ToDictionary(kv => kv.Key, kv => (string?)kv.Value, StringComparer.Ordinal);
        await AuthorizationResponseWriter.WriteAsync(http, context.RedirectUri, ResponseModes.FormPost, parameters);
        context.HandleRequest();
    }
}
