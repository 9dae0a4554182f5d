namespace IdentityServer.Protocol.Errors;

/// <summary>
/// A protocol error as a value: the <c>error</c> code, a human-readable <c>error_description</c>
/// and the HTTP status the adapter writes. Rules return these; nothing throws for a protocol error.
/// </summary>
/// <remarks>Codes from RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID Connect Core §3.1.2.6, RFC 8628 §3.5.</remarks>
/// <param name="Error">The registered error code, e.g. <c>invalid_grant</c>.</param>
/// <param name="Description">ASCII text for the developer of the client; never contains a secret.</param>
/// <param name="Status">HTTP status code: 400 by default, 401 for <c>invalid_client</c> and <c>invalid_token</c>.</param>
public sealed record OAuthError(string Error, string? Description = null, int Status = 400)
{
    /// <summary>
    /// <see cref="Description"/> limited to the characters RFC 6749 §5.2 allows in <c>error_description</c>
    /// (%x20-21 / %x23-5B / %x5D-7E), others replaced by '?'. Safe in a <c>WWW-Authenticate</c> quoted string.
    /// Descriptions may echo request input (a parameter name, a scope), so writers use this, never the raw text.
    /// </summary>
    public string? SafeDescription => Description is null ? null
        : string.Create(Description.Length, Description, (span, d) =>
        {
            for (var i = 0; i < d.Length; i++)
                span[i] = d[i] is ' ' or '!' or (>= '#' and <= '[') or (>= ']' and <= '~') ? d[i] : '?';
        });

    /// <summary>RFC 6749 §5.2: missing, repeated or malformed parameter.</summary>
    public static OAuthError InvalidRequest(string description) => new(OAuthErrorCodes.InvalidRequest, description);

    /// <summary>RFC 6749 §5.2: client authentication failed. Always 401 (the adapter adds <c>WWW-Authenticate</c>).</summary>
    public static OAuthError InvalidClient(string description) => new(OAuthErrorCodes.InvalidClient, description, 401);

    /// <summary>RFC 6749 §5.2: the grant (code, refresh token) is invalid, expired, revoked or bound to another client.</summary>
    public static OAuthError InvalidGrant(string description) => new(OAuthErrorCodes.InvalidGrant, description);

    /// <summary>RFC 6749 §5.2: the client is not allowed to use this grant type or response type.</summary>
    public static OAuthError UnauthorizedClient(string description) => new(OAuthErrorCodes.UnauthorizedClient, description);

    /// <summary>RFC 6749 §5.2: the grant type is not supported by this server.</summary>
    public static OAuthError UnsupportedGrantType(string description) => new(OAuthErrorCodes.UnsupportedGrantType, description);

    /// <summary>RFC 6749 §4.1.2.1: the response type is not supported by this server.</summary>
    public static OAuthError UnsupportedResponseType(string description) => new(OAuthErrorCodes.UnsupportedResponseType, description);

    /// <summary>RFC 6749 §5.2: the requested scope is unknown, malformed or exceeds what is allowed.</summary>
    public static OAuthError InvalidScope(string description) => new(OAuthErrorCodes.InvalidScope, description);

    /// <summary>RFC 6749 §4.1.2.1: the resource owner or the server denied the request.</summary>
    public static OAuthError AccessDenied(string description) => new(OAuthErrorCodes.AccessDenied, description);

    /// <summary>OpenID Connect Core §3.1.2.6: <c>prompt=none</c> but the end-user is not signed in.</summary>
    public static OAuthError LoginRequired(string description) => new(OAuthErrorCodes.LoginRequired, description);

    /// <summary>OpenID Connect Core §3.1.2.6: <c>prompt=none</c> but consent is needed.</summary>
    public static OAuthError ConsentRequired(string description) => new(OAuthErrorCodes.ConsentRequired, description);

    /// <summary>RFC 6750 §3.1: the access token is missing-scheme-valid but expired, revoked, malformed or of the wrong type. 401.</summary>
    public static OAuthError InvalidToken(string description) => new(OAuthErrorCodes.InvalidToken, description, 401);

    /// <summary>RFC 6750 §3.1: the token lacks a scope the resource requires. 403.</summary>
    public static OAuthError InsufficientScope(string description) => new(OAuthErrorCodes.InsufficientScope, description, 403);

    /// <summary>RFC 8628 §3.5: the end-user has not yet approved or denied the device request; poll again after the interval.</summary>
    public static OAuthError AuthorizationPending(string description) => new(OAuthErrorCodes.AuthorizationPending, description);

    /// <summary>RFC 8628 §3.5: the client polls too fast; it must add 5 seconds to its interval.</summary>
    public static OAuthError SlowDown(string description) => new(OAuthErrorCodes.SlowDown, description);

    /// <summary>RFC 8628 §3.5: the device code has expired; the client may start a new device authorization.</summary>
    public static OAuthError ExpiredToken(string description) => new(OAuthErrorCodes.ExpiredToken, description);

    /// <summary>RFC 6749 §4.1.2.1: an unexpected condition; the detail goes only to the log. 500.</summary>
    public static OAuthError ServerError() => new(OAuthErrorCodes.ServerError, "The server encountered an unexpected condition.", 500);
}

/// <summary>The registered OAuth 2.0 / OpenID Connect error codes used by this server.</summary>
public static class OAuthErrorCodes
{
    public const string InvalidRequest = "invalid_request";
    public const string InvalidClient = "invalid_client";
    public const string InvalidGrant = "invalid_grant";
    public const string UnauthorizedClient = "unauthorized_client";
    public const string UnsupportedGrantType = "unsupported_grant_type";
    public const string UnsupportedResponseType = "unsupported_response_type";
    public const string InvalidScope = "invalid_scope";
    public const string AccessDenied = "access_denied";
    public const string ServerError = "server_error";
    public const string LoginRequired = "login_required";
    public const string ConsentRequired = "consent_required";
    public const string RequestNotSupported = "request_not_supported";
    public const string RequestUriNotSupported = "request_uri_not_supported";
    public const string InvalidToken = "invalid_token";
    public const string InsufficientScope = "insufficient_scope";
    public const string AuthorizationPending = "authorization_pending";
    public const string SlowDown = "slow_down";
    public const string ExpiredToken = "expired_token";
}
