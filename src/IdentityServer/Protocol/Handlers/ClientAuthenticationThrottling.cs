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
/// <item>every <c>invalid_client</c> answer counts one failure for the caller's address, and for the client when it is a confidential
/// one (<see cref="ClientAuthenticationThrottle"/>);</item>
/// <item>a client, or an address, at its limit for the current window is answered 429 Too Many Requests (RFC 6585 §4) with
/// <c>Retry-After</c> in seconds and the error <c>temporarily_unavailable</c>, before <c>client_id</c> or the credentials are looked
/// at, until the window ends;</item>
/// <item>a failure past the limit is answered the same way (not <c>invalid_client</c>), so parallel guesses learn nothing past the
/// limit either;</item>
/// <item>every <c>invalid_client</c> answer has the same description, so the answers do not tell which client_ids exist.</item>
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

    /// <summary>The one description of every <c>invalid_client</c> answer at these endpoints.</summary>
    public const string FailedDescription = "Client authentication failed.";

    private static string ThrottledDescription(TimeSpan wait) => $"Too many failed client authentications; try again in {(long)wait.TotalSeconds} seconds.";

    private static string? Address(BaseContext context) => context.Transaction.GetHttpRequest()?.HttpContext.Connection.RemoteIpAddress?.ToString();

    /// <summary>Refuses a client or an address over its limit, before its credentials are checked.</summary>
    public sealed class Check(ClientAuthenticationThrottle throttle) : IOpenIddictServerHandler<ProcessAuthenticationContext>
    {
        /// <summary>Before OpenIddict looks at <c>client_id</c> (an unknown one must not be answered differently).</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ProcessAuthenticationContext>()
            .UseScopedHandler<Check>()
            .SetOrder(ValidateClientId.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public async ValueTask HandleAsync(ProcessAuthenticationContext context)
        {
            if (!Authenticates(context.EndpointType)) return;
            var clientId = string.IsNullOrEmpty(context.ClientId) ? null : context.ClientId;
            if (await throttle.RetryAfterAsync(clientId, Address(context), context.CancellationToken) is not { } wait) return;
            context.Transaction.Properties[RetryAfterProperty] = (long)wait.TotalSeconds;
            context.Logger.LogInformation("Request of {ClientId} refused for {Seconds} s: too many failed client authentications", clientId, (long)wait.TotalSeconds);
            context.Reject(Errors.TemporarilyUnavailable, ThrottledDescription(wait));
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
            if (context.Transaction.Response is not { Error: Errors.InvalidClient } error) return;
            error.ErrorDescription = FailedDescription;
            error.ErrorUri = null;
            var clientId = context.Transaction.Request?.ClientId;
            var confidential = clientId is not null && await clients.FindAnyByClientIdAsync(clientId, context.CancellationToken) is { } application
                && await clients.HasClientTypeAsync(application, ClientTypes.Confidential, context.CancellationToken);
            if (await throttle.RecordFailureAsync(confidential ? clientId : null, Address(context), context.CancellationToken) is not { } wait) return;
            // Past the limit: answered as throttled, so this guess tells nothing.
            error.Error = Errors.TemporarilyUnavailable;
            error.ErrorDescription = ThrottledDescription(wait);
            response.StatusCode = StatusCodes.Status429TooManyRequests;
            response.Headers.RetryAfter = ((long)wait.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
