namespace IdentityServer.Protocol.Stores;

/// <summary>Remembered consent decisions, per end-user and client.</summary>
public interface IConsentStore
{
    /// <summary>The scopes <paramref name="subjectId"/> has consented to for <paramref name="clientId"/>; empty when none.</summary>
    Task<IReadOnlySet<string>> GetConsentedScopesAsync(string subjectId, string clientId, CancellationToken cancellationToken = default);

    /// <summary>Adds <paramref name="scopes"/> to what the user consented to for the client.</summary>
    Task GrantConsentAsync(string subjectId, string clientId, IEnumerable<string> scopes, DateTimeOffset now, CancellationToken cancellationToken = default);
}
