using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Keys;

/// <summary>
/// The server's signing keys, one line per configured algorithm (<c>IdentityServer:Keys:Algorithms</c>). Each key is
/// published (in JWKS, not yet signing), then active (signing), then retired (still in JWKS until every token it signed has
/// expired); successors are published ahead of activation and rotation happens once across nodes.
/// </summary>
public interface ISigningKeyStore
{
    /// <summary>The configured algorithms; the first is the default.</summary>
    IReadOnlyList<string> Algorithms { get; }

    /// <summary>
    /// Credentials of the active key for <paramref name="algorithm"/> (default: the first configured), with its <c>kid</c>. Creates the
    /// first key when none exists. An algorithm that is not configured (any more: a client registered for it before it was removed
    /// from <c>IdentityServer:Keys:Algorithms</c>) gets the first configured one, and a warning in the log.
    /// </summary>
    Task<SigningCredentials> GetSigningCredentialsAsync(CancellationToken cancellationToken = default, string? algorithm = null);

    /// <summary>Public keys of every published key (published, active or retired), for JWKS and for validating tokens this server issued.</summary>
    Task<IReadOnlyList<JsonWebKey>> GetPublishedKeysAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Re-reads the keys from the database at most once per 10 seconds: for a token whose <c>kid</c> is unknown here, e.g. signed
    /// by another node right after a forced rotation this node has not seen yet.
    /// </summary>
    Task RefreshAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts a rotation now for every algorithm: a successor is published that becomes active after the publish lead, when the
    /// current key retires. With <paramref name="immediately"/> (after a key leak) the successor signs at once and the current key
    /// is withdrawn: tokens it signed no longer validate. Returns the new kids.
    /// </summary>
    Task<IReadOnlyList<string>> RotateAsync(bool immediately, CancellationToken cancellationToken = default);
}
