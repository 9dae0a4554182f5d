using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Reads a userinfo request (OpenID Connect Core 1.0 §5.3.1: GET or POST, with the access token as RFC 6750 says): the query of a
/// GET, the form of a POST, and also a POST with no body at all, whose token is in the <c>Authorization</c> header (RFC 6750 §2.1
/// works with any method; OpenIddict's reader would refuse such a POST for lacking a <c>Content-Type</c>). An <c>access_token</c> in
/// the query string is ignored (RFC 6750 §2.3 says it "SHOULD NOT be used"), so such a request has no token: 401. A body of another
/// type, another method, or a token both in the <c>Authorization</c> header and in the body (RFC 6750 §2: one method per request) is
/// <c>invalid_request</c>. Replaces OpenIddict's reader for this endpoint.
/// </summary>
public sealed class UserInfoRequestExtraction : IOpenIddictServerHandler<ExtractUserInfoRequestContext>
{
    /// <summary>Where OpenIddict's reader was.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractUserInfoRequestContext>()
        .UseSingletonHandler<UserInfoRequestExtraction>()
        .SetOrder(ExtractGetOrPostRequest<ExtractUserInfoRequestContext>.Descriptor.Order)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <summary>OpenIddict's reader, which this one replaces.</summary>
    public static OpenIddictServerHandlerDescriptor Replaced => ExtractGetOrPostRequest<ExtractUserInfoRequestContext>.Descriptor;

    /// <inheritdoc />
    public async ValueTask HandleAsync(ExtractUserInfoRequestContext context)
    {
        if (context.Transaction.GetHttpRequest() is not { } http) return;
        if (HttpMethods.IsGet(http.Method))
        {
            // An access token in the query string (RFC 6750 §2.3) ends up in access logs and Referer headers: it is not read.
            context.Transaction.Request = new OpenIddictRequest(http.Query.Where(p => p.Key != Parameters.AccessToken));
            return;
        }
        if (!HttpMethods.IsPost(http.Method))
        {
            context.Reject(Errors.InvalidRequest, "The userinfo endpoint accepts GET and POST.");
            return;
        }
        if (string.IsNullOrEmpty(http.ContentType))
        {
            if (http.ContentLength is null or 0 && !http.Headers.ContainsKey("Transfer-Encoding"))
                context.Transaction.Request = new OpenIddictRequest();
            else
                context.Reject(Errors.InvalidRequest, "A request body needs the Content-Type application/x-www-form-urlencoded.");
            return;
        }
        if (!http.HasFormContentType || !http.ContentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            context.Reject(Errors.InvalidRequest, "The request body must be application/x-www-form-urlencoded.");
            return;
        }
        var form = await http.ReadFormAsync(context.CancellationToken);
        if (form.ContainsKey(Parameters.AccessToken) && http.Headers.Authorization.Count > 0)
        {
            // RFC 6750 §2: "Clients MUST NOT use more than one method to transmit the token in each request."
            context.Logger.LogInformation("Userinfo request refused: an access token in the header and in the body");
            context.Reject(Errors.InvalidRequest, "Send the access token in the Authorization header or in the body, not both.");
            return;
        }
        context.Transaction.Request = new OpenIddictRequest(form);
    }
}
