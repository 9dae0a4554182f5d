using IdentityServer.Protocol.Clients;

namespace IdentityServer.Protocol.Endpoints.Authorize;

/// <summary>A validated authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1, RFC 7636 §4.3).</summary>
public sealed record AuthorizeRequest
{
    /// <summary>The client, known and enabled.</summary>
    public required Client Client { get; init; }

    /// <summary>The verified <c>redirect_uri</c>: errors may be sent to it.</summary>
    public required string RedirectUri { get; init; }

    /// <summary><c>query</c> or <c>form_post</c>.</summary>
    public required string ResponseMode { get; init; }

    /// <summary>Requested scopes, each allowed for the client.</summary>
    public required IReadOnlyList<string> Scopes { get; init; }

    /// <summary>The S256 <c>code_challenge</c>.</summary>
    public required string CodeChallenge { get; init; }

    /// <summary>Opaque client value echoed back.</summary>
    public string? State { get; init; }

    /// <summary>Copied into the ID token.</summary>
    public string? Nonce { get; init; }

    /// <summary>Space-separated <c>prompt</c> values: <c>none</c>, <c>login</c>, <c>consent</c>.</summary>
    public IReadOnlySet<string> Prompt { get; init; } = new HashSet<string>();

    /// <summary>Maximum authentication age in seconds, when given.</summary>
    public int? MaxAge { get; init; }

    /// <summary>Hint for the login page's user-name field.</summary>
    public string? LoginHint { get; init; }

    /// <summary>True when <c>openid</c> was requested.</summary>
    public bool IsOpenId => Scopes.Contains(Grants.Scopes.OpenId);
}

/// <summary>The result of validating a raw authorization request.</summary>
/// <param name="Request">Set on success.</param>
/// <param name="Error">Set on failure.</param>
/// <param name="RedirectUri">The verified redirect URI when the error may be sent there; null means "show an error page".</param>
/// <param name="ResponseMode">The response mode for a redirected error.</param>
/// <param name="State">The <c>state</c> to echo with a redirected error.</param>
/// <param name="Client">The client when known (for the error page).</param>
public sealed record AuthorizeValidation(
    AuthorizeRequest? Request, Errors.OAuthError? Error, string? RedirectUri, string ResponseMode, string? State, Client? Client);
