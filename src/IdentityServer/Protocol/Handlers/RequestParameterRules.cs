using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.AspNetCore.OpenIddictServerAspNetCoreHandlers;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// Rules on the parameters of every request, checked at every endpoint before anything else reads them, each answered with
/// <c>invalid_request</c>: a parameter sent more than once (RFC 6749 §3.1 and §3.2: parameters "MUST NOT be included more than
/// once"); a value longer than <see cref="MaxValueLength"/> characters; more than <see cref="MaxParameterCount"/> parameters. (The
/// last two bound the work one request can cause; RFC 6749 §10 leaves such limits to the server.) At the authorization endpoint such
/// a request is never answered by a redirect, since its <c>redirect_uri</c> or <c>state</c> cannot be trusted.
/// </summary>
public static class RequestParameterRules
{
    /// <summary>Longest accepted parameter value, in characters (8 KiB).</summary>
    public const int MaxValueLength = 8192;

    /// <summary>Most parameters accepted in one request.</summary>
    public const int MaxParameterCount = 64;

    /// <summary>The description of the error for a repeated parameter.</summary>
    public const string Repeated = "A parameter must not be included more than once.";

    /// <summary>The description of the error for a value over <see cref="MaxValueLength"/> characters.</summary>
    public const string TooLong = "A parameter value is too long.";

    /// <summary>The description of the error for more than <see cref="MaxParameterCount"/> parameters.</summary>
    public const string TooMany = "The request has too many parameters.";

    /// <summary>
    /// Checks name/value pairs as a query string or form body carries them.
    /// </summary>
    /// <returns>Null when the rules hold, else the error description (<see cref="Repeated"/>, <see cref="TooLong"/>, <see cref="TooMany"/>).</returns>
    public static string? Check(IEnumerable<(string Name, int Count, string? Value)> parameters)
    {
        var count = 0;
        foreach (var (_, values, value) in parameters)
        {
            if (++count > MaxParameterCount) return TooMany;
            if (values > 1) return Repeated;
            if (value is { Length: > MaxValueLength }) return TooLong;
        }
        return null;
    }

    /// <summary>The description of the error for a form body that cannot be read (malformed, truncated, or over the form limits).</summary>
    public const string UnreadableForm = "The request body could not be read as a form.";

    /// <summary>Whether <paramref name="description"/> is one of this class's errors (the request's parameters are not to be trusted).</summary>
    public static bool IsParameterError(string? description) => description is Repeated or TooLong or TooMany or UnreadableForm;

    /// <summary>The handlers' descriptors, two per endpoint: the form is read first, the rules are checked once the host read the request.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        Handler<ExtractAuthorizationRequestContext>.Descriptor, Handler<ExtractTokenRequestContext>.Descriptor,
        Handler<ExtractDeviceAuthorizationRequestContext>.Descriptor, Handler<ExtractIntrospectionRequestContext>.Descriptor,
        Handler<ExtractRevocationRequestContext>.Descriptor, Handler<ExtractEndSessionRequestContext>.Descriptor,
        Handler<ExtractUserInfoRequestContext>.Descriptor, Handler<ExtractEndUserVerificationRequestContext>.Descriptor,
        FormBody<ExtractAuthorizationRequestContext>.Descriptor, FormBody<ExtractTokenRequestContext>.Descriptor,
        FormBody<ExtractDeviceAuthorizationRequestContext>.Descriptor, FormBody<ExtractIntrospectionRequestContext>.Descriptor,
        FormBody<ExtractRevocationRequestContext>.Descriptor, FormBody<ExtractEndSessionRequestContext>.Descriptor,
        FormBody<ExtractUserInfoRequestContext>.Descriptor, FormBody<ExtractEndUserVerificationRequestContext>.Descriptor,
    ];

    /// <summary>
    /// Reads a form body before the host does, so that one that cannot be read (malformed encoding, a truncated body, more fields or
    /// longer keys or values than ASP.NET Core's form limits) is <c>invalid_request</c>, not a 500. The form read here is the one the
    /// host reads next (ASP.NET Core keeps it).
    /// </summary>
    /// <typeparam name="TContext">The endpoint's extraction context.</typeparam>
    public sealed class FormBody<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseValidatingContext
    {
        private const string FormType = "application/x-www-form-urlencoded";

        /// <summary>Before the ASP.NET Core host reads the request.</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<FormBody<TContext>>()
            .SetOrder(ExtractGetRequest<TContext>.Descriptor.Order - 500)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public async ValueTask HandleAsync(TContext context)
        {
            if (context.Transaction.GetHttpRequest() is not { } http || !HttpMethods.IsPost(http.Method)
                || http.ContentType is not { } contentType || !contentType.StartsWith(FormType, StringComparison.OrdinalIgnoreCase)) return;
            // Only the form type OpenIddict accepts is read ahead (never a multipart body, which OpenIddict refuses unread); a header
            // that starts like it but does not parse as it would make ASP.NET Core's reader throw.
            if (!Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
                || !string.Equals(media.MediaType.Value, FormType, StringComparison.OrdinalIgnoreCase))
            {
                context.Logger.LogInformation("Request refused: malformed Content-Type");
                context.Reject(OpenIddictConstants.Errors.InvalidRequest, UnreadableForm);
                return;
            }
            try
            {
                await http.ReadFormAsync(context.CancellationToken);
            }
            catch (Exception e) when (e is InvalidDataException or IOException or BadHttpRequestException or InvalidOperationException)
            {
                context.Logger.LogInformation("Request refused: the form body could not be read ({Reason})", e.GetType().Name);
                context.Reject(OpenIddictConstants.Errors.InvalidRequest, UnreadableForm);
            }
        }
    }

    /// <summary>The check at one endpoint's extraction step.</summary>
    /// <typeparam name="TContext">The endpoint's extraction context.</typeparam>
    public sealed class Handler<TContext> : IOpenIddictServerHandler<TContext> where TContext : BaseValidatingContext
    {
        /// <summary>After the ASP.NET Core host read the request (and its access token, if any).</summary>
        public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<TContext>()
            .UseSingletonHandler<Handler<TContext>>()
            .SetOrder(ExtractAccessToken<TContext>.Descriptor.Order + 1_000)
            .SetType(OpenIddictServerHandlerType.Custom)
            .Build();

        /// <inheritdoc />
        public ValueTask HandleAsync(TContext context)
        {
            if (context.Transaction.Request is not { } request) return ValueTask.CompletedTask;
            // A parameter the query string or form carried more than once holds an array of its values (Count > 1).
            if (Check(request.GetParameters().Select(p => (p.Key, p.Value.Count, p.Value.Count == 0 ? (string?)p.Value : null))) is { } problem)
            {
                context.Logger.LogInformation("Request refused: {Problem}", problem);
                context.Reject(OpenIddictConstants.Errors.InvalidRequest, problem);
            }
            return ValueTask.CompletedTask;
        }
    }
}
