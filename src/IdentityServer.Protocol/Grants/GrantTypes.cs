namespace IdentityServer.Protocol.Grants;

/// <summary>The <c>grant_type</c> values this server knows (RFC 6749 §4, RFC 8628 §3.4).</summary>
public static class GrantTypes
{
    public const string AuthorizationCode = "authorization_code";
    public const string RefreshToken = "refresh_token";
    public const string ClientCredentials = "client_credentials";
    public const string DeviceCode = "urn:ietf:params:oauth:grant-type:device_code";

    /// <summary>Grant types a client may be registered for.</summary>
    public static readonly IReadOnlySet<string> Supported = new HashSet<string>(StringComparer.Ordinal)
    {
        AuthorizationCode, RefreshToken, ClientCredentials, DeviceCode,
    };
}
