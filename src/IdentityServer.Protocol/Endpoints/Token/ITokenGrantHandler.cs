using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Requests;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// One grant type at the token endpoint. The endpoint has already authenticated the client and checked
/// that the client may use <see cref="GrantType"/>; the handler validates its own parameters and issues.
/// </summary>
public interface ITokenGrantHandler
{
    /// <summary>The <c>grant_type</c> value handled.</summary>
    string GrantType { get; }

    /// <summary>Validates the grant and returns tokens or an error (never throws for a protocol error).</summary>
    Task<OAuthResult<TokenResponse>> HandleAsync(Client client, OAuthParameters parameters, CancellationToken ct);
}
