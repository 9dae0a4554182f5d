using IdentityServer.Protocol.Clients;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Guessing client secrets is throttled (RFC 6749 §2.3.1: the server "MUST protect any endpoint utilizing [client passwords] against
/// brute force attacks") at every endpoint that authenticates clients (token, device authorization, introspection, revocation):
/// <list type="bullet">
/// <item>every <c>invalid_client</c> answer counts one failure for the client and one for the caller's address
/// (<see cref="ClientAuthenticationThrottle"/>);</item>
/// <item>a client, or an address, over its limit for the current window is answered 429 Too Many Requests (RFC 6585 §4) with
/// <c>Retry-After</c> in seconds and the error <c>temporarily_unavailable</c>, before its credentials are looked at, until the window
/// ends.</item>
/// </list>
/// </summary>
public static class ClientAuthenticationThrottling
{
    private const string RetryAfterProperty = "IdentityServer:ClientAuthentication:RetryAfter";

    /// <summary>The handlers' descriptors.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        Check.Descriptor,
        Answer<ApplyTokenResponseContext>.Descriptor, Answer<ApplyDeviceAuthorizationResponseContext>.Descriptor,
        Answer<ApplyIntrospectionResponseContext>.Descriptor, Answer<ApplyRevocationResponseContext>.Descriptor,
    ];

    private static bool Authenticates(OpenIddictServerEndpointType endpoint) => endpoint is OpenIddictServerEndpointType.Token
        or OpenIddictServerEndpointType.DeviceAuthorization or OpenIddictServerEndpointType.Introspection or OpenIddictServerEndpointType.Revocation;

    private static string? Address(BaseContext context) => context.Transaction.GetHttpRequest()?.HttpContext.Connection.RemoteIpAddress?.ToString();

    /// <summary>Refuses a client or an address over its limit, before its credentials are checked.</summary>
    public sealed class Check(ClientAuthenticationThrottle throttle) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        /// <summary>Once <c>client_id</c> is known to be present, before the client and its secret are checked.</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseScopedHandler<Check>()
            .SetOrder(ValidateClientId.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (!Authenticates(context.EndpointType)) return;
            if (await throttle.RetryAfterAsync(context.ClientId, Address(context), context.CancellationToken) is not { } wait) return;
            context.Transaction.Properties[RetryAfterProperty] = (long)wait.TotalSeconds;
            context.Logger.LogInformation("Request of {ClientId} refused for {Seconds} s: too many failed client authentications", context.ClientId, (long)wait.TotalSeconds);
            context.Reject(Errors.TemporarilyUnavailable, $"Too many failed client authentications; try again in {(long)wait.TotalSeconds} seconds.");
        }
    }

    /// <summary>Answers a refused request with 429 and <c>Retry-After</c>; counts an <c>invalid_client</c> answer as a failure.</summary>
    /// <typeparam name="TContext">The endpoint's response context.</typeparam>
    public sealed class Answer<TContext>(ClientAuthenticationThrottle throttle, ClientApplicationManager clients) : IOpenIddictServerHandler<TContext>
        where TContext : BaseRequestContext
    {
        /// <summary>After the ASP.NET Core host chose the status code, before it writes the response.</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseScopedHandler<Answer<TContext>>()
            .SetOrder(AttachHttpResponseCode<TContext>.Descriptor.Order + 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public async ValueTask HandleAsync(TContext context)
        {
            if (context.Transaction.GetHttpRequest()?.HttpContext.Response is not { } response) return;
            if (context.Transaction.Properties.TryGetValue(RetryAfterProperty, out var seconds))
            {
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                response.Headers.RetryAfter = seconds!.ToString();
                return;
            }
            if (context.Transaction.Response?.Error != Errors.InvalidClient) return;
            var clientId = context.Transaction.Request?.ClientId;
            var known = clientId is not null && await clients.FindAnyByClientIdAsync(clientId, context.CancellationToken) is not null;
            await throttle.RecordFailureAsync(clientId, known, Address(context), context.CancellationToken);
        }
    }
}
