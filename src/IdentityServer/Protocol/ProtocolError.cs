using OpenIddict.Abstractions;

namespace IdentityServer.Protocol;

/// <summary>
/// A protocol error our own rules produce: the registered <c>error</c> code (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1;
/// RFC 8628 §3.5) and an <c>error_description</c> for the client's developer. Descriptions never echo request input, so they
/// stay within the characters RFC 6749 §5.2 allows and hold no secret.
/// </summary>
/// <param name="Error">The error code, from <see cref="OpenIddictConstants.Errors"/>.</param>
/// <param name="Description">Fixed ASCII text.</param>
public sealed record ProtocolError(string Error, string Description)
{
    /// <summary><c>invalid_scope</c> (RFC 6749 §5.2).</summary>
    public static ProtocolError InvalidScope(string description) => new(OpenIddictConstants.Errors.InvalidScope, description);

    /// <summary><c>invalid_grant</c> (RFC 6749 §5.2).</summary>
    public static ProtocolError InvalidGrant(string description) => new(OpenIddictConstants.Errors.InvalidGrant, description);

    /// <summary><c>invalid_request</c> (RFC 6749 §5.2).</summary>
    public static ProtocolError InvalidRequest(string description) => new(OpenIddictConstants.Errors.InvalidRequest, description);
}
