using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Keys;

/// <summary>
/// The server's signing keys. The active key signs; every published key (active or retired but
/// still published) validates and appears in JWKS (RFC 7517).
/// </summary>
public interface ISigningKeyStore
{
    /// <summary>Credentials of the active key (RS256 with a <c>kid</c>). Creates the first key when none exists.</summary>
    Task<SigningCredentials> GetSigningCredentialsAsync(CancellationToken cancellationToken = default);

    /// <summary>Public keys of every published key, for JWKS and for validating tokens this server issued.</summary>
    Task<IReadOnlyList<JsonWebKey>> GetPublishedKeysAsync(CancellationToken cancellationToken = default);
}
