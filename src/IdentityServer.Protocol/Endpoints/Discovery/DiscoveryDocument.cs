using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;

namespace IdentityServer.Protocol.Endpoints.Discovery;

/// <summary>Endpoint paths, relative to the issuer.</summary>
public static class EndpointPaths
{
    public const string Discovery = "/.well-known/openid-configuration";
    public const string Jwks = "/.well-known/jwks.json";
    public const string Authorize = "/connect/authorize";
    public const string Token = "/connect/token";
    public const string UserInfo = "/connect/userinfo";
    public const string DeviceAuthorization = "/connect/deviceauthorization";
    public const string Introspection = "/connect/introspect";
    public const string Revocation = "/connect/revocation";
    public const string EndSession = "/connect/endsession";

    /// <summary>The page where people enter a device flow's user code (RFC 8628 §3.2 <c>verification_uri</c>).</summary>
    public const string DeviceVerification = "/device";
}

/// <summary>The OpenID Provider Metadata document (OpenID Connect Discovery 1.0 §3, RFC 8414 §2).</summary>
public static class DiscoveryDocument
{
    /// <summary>The metadata as a JSON-ready dictionary; every URL is built from <see cref="IdentityServerOptions.Issuer"/>.</summary>
    public static Dictionary<string, object> Create(IdentityServerOptions options, ScopeCatalog scopes, IEnumerable<string> grantTypes)
    {
        var b = options.IssuerBase;
        return new Dictionary<string, object>
        {
            ["issuer"] = options.Issuer,
            ["authorization_endpoint"] = b + EndpointPaths.Authorize,
            ["token_endpoint"] = b + EndpointPaths.Token,
            ["userinfo_endpoint"] = b + EndpointPaths.UserInfo,
            ["device_authorization_endpoint"] = b + EndpointPaths.DeviceAuthorization,
            ["introspection_endpoint"] = b + EndpointPaths.Introspection,
            ["revocation_endpoint"] = b + EndpointPaths.Revocation,
            ["end_session_endpoint"] = b + EndpointPaths.EndSession,
            ["backchannel_logout_supported"] = true,
            ["backchannel_logout_session_supported"] = true,
            ["frontchannel_logout_supported"] = false,
            ["introspection_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post" },
            ["revocation_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post", "none" },
            ["jwks_uri"] = b + EndpointPaths.Jwks,
            ["scopes_supported"] = Scopes.Identity.Concat(scopes.ApiScopeNames).ToArray(),
            ["response_types_supported"] = new[] { "code" },
            ["response_modes_supported"] = new[] { "query", "form_post" },
            ["grant_types_supported"] = grantTypes.ToArray(),
            ["subject_types_supported"] = new[] { "public" },
            ["id_token_signing_alg_values_supported"] = options.Keys.EffectiveAlgorithms.ToArray(),
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post", "none" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["claims_supported"] = new[] { "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid", "name", "preferred_username", "email", "email_verified" },
            ["prompt_values_supported"] = new[] { "none", "login", "consent", "select_account" },
            ["authorization_response_iss_parameter_supported"] = true,
            ["request_parameter_supported"] = false,
            ["request_uri_parameter_supported"] = false,
            ["claims_parameter_supported"] = false,
        };
    }
}
