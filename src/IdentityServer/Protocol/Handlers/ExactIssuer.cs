using IdentityServer.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;
using static OpenIddict.Server.OpenIddictServerHandlers;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// The issuer identifier is the configured <c>IdentityServer:Issuer</c>, character for character, wherever it appears: <c>iss</c> of
/// every token, the <c>issuer</c> of the discovery document (OpenID Connect Discovery 1.0 §3, §4.3: it must be identical to the
/// URL the metadata was fetched from), the <c>iss</c> of authorization responses (RFC 9207 §2) and of introspection answers
/// (RFC 7662 §2.2). OpenIddict writes the issuer as a <see cref="Uri"/>, which adds a trailing slash to a bare origin
/// (<c>https://id.example.com/</c>); relying parties compare issuers as strings, so that would break every one configured with the
/// documented value. (Tokens carrying either form validate here: OpenIddict accepts both.) The endpoints the discovery document
/// lists are under the issuer too, not under whatever host name the request came in by (behind a proxy, that is an internal name), and
/// so are the <c>verification_uri</c> and <c>verification_uri_complete</c> a device shows its user (RFC 8628 §3.2).
/// </summary>
public sealed class ExactIssuer(IdentityServerOptions options) :
    IOpenIddictServerHandler<GenerateTokenContext>, IOpenIddictServerHandler<HandleConfigurationRequestContext>,
    IOpenIddictServerHandler<ApplyConfigurationResponseContext>,
    IOpenIddictServerHandler<ApplyAuthorizationResponseContext>, IOpenIddictServerHandler<ApplyIntrospectionResponseContext>,
    IOpenIddictServerHandler<ApplyDeviceAuthorizationResponseContext>
{
    /// <summary>The handler's descriptors: after the token's metadata is attached, and before each response is written.</summary>
    public static IEnumerable<OpenIddictServerHandlerDescriptor> Descriptors { get; } =
    [
        OpenIddictServerHandlerDescriptor.CreateBuilder<GenerateTokenContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(Protection.AttachTokenMetadata.Descriptor.Order + 500).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<HandleConfigurationRequestContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(Discovery.AttachEndpoints.Descriptor.Order + 500).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyConfigurationResponseContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(-1_000).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyAuthorizationResponseContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(Authentication.AttachIssuer.Descriptor.Order + 500).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyIntrospectionResponseContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(-1_000).SetType(OpenIddictServerHandlerType.Custom).Build(),
        OpenIddictServerHandlerDescriptor.CreateBuilder<ApplyDeviceAuthorizationResponseContext>().UseSingletonHandler<ExactIssuer>()
            .SetOrder(-1_000).SetType(OpenIddictServerHandlerType.Custom).Build(),
    ];

    private string Issuer => options.Issuer;

    /// <inheritdoc />
    public ValueTask HandleAsync(GenerateTokenContext context)
    {
        if (context.SecurityTokenDescriptor.Issuer is not null) context.SecurityTokenDescriptor.Issuer = Issuer;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(HandleConfigurationRequestContext context)
    {
        if (context.BaseUri is not { } requestBase) return ValueTask.CompletedTask;
        var basePath = requestBase.AbsolutePath.TrimEnd('/');
        Uri? Rebase(Uri? endpoint) => endpoint is null || !endpoint.AbsolutePath.StartsWith(basePath, StringComparison.Ordinal)
            ? endpoint
            : new Uri(options.IssuerBase + endpoint.AbsolutePath[basePath.Length..], UriKind.Absolute);
        context.AuthorizationEndpoint = Rebase(context.AuthorizationEndpoint);
        context.DeviceAuthorizationEndpoint = Rebase(context.DeviceAuthorizationEndpoint);
        context.EndSessionEndpoint = Rebase(context.EndSessionEndpoint);
        context.IntrospectionEndpoint = Rebase(context.IntrospectionEndpoint);
        context.JsonWebKeySetEndpoint = Rebase(context.JsonWebKeySetEndpoint);
        context.RevocationEndpoint = Rebase(context.RevocationEndpoint);
        context.TokenEndpoint = Rebase(context.TokenEndpoint);
        context.UserInfoEndpoint = Rebase(context.UserInfoEndpoint);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyConfigurationResponseContext context)
    {
        if (context.Response.Error is null) context.Response[OpenIddictConstants.Metadata.Issuer] = Issuer;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyAuthorizationResponseContext context)
    {
        if (context.Response.Iss is not null) context.Response.Iss = Issuer;
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyDeviceAuthorizationResponseContext context)
    {
        context.Response.VerificationUri = Rebase(context.BaseUri, context.Response.VerificationUri);
        context.Response.VerificationUriComplete = Rebase(context.BaseUri, context.Response.VerificationUriComplete);
        return ValueTask.CompletedTask;
    }

    /// <summary><paramref name="uri"/> (absolute, under <paramref name="requestBase"/>) moved under the issuer, query kept; others as they are.</summary>
    private string? Rebase(Uri? requestBase, string? uri)
    {
        if (requestBase is null || uri is null || !Uri.TryCreate(uri, UriKind.Absolute, out var absolute)) return uri;
        var basePath = requestBase.AbsolutePath.TrimEnd('/');
        if (!string.Equals(absolute.GetLeftPart(UriPartial.Authority), requestBase.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase)
            || !absolute.AbsolutePath.StartsWith(basePath, StringComparison.Ordinal)) return uri;
        return options.IssuerBase + absolute.AbsolutePath[basePath.Length..] + absolute.Query;
    }

    /// <inheritdoc />
    public ValueTask HandleAsync(ApplyIntrospectionResponseContext context)
    {
        if (context.Response[OpenIddictConstants.Claims.Issuer] is not null) context.Response[OpenIddictConstants.Claims.Issuer] = Issuer;
        return ValueTask.CompletedTask;
    }
}
