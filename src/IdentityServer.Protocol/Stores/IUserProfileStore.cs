namespace IdentityServer.Protocol.Stores;

/// <summary>The end-user data the protocol needs: whether a subject may still receive tokens, and its claims.</summary>
public interface IUserProfileStore
{
    /// <summary>The profile of <paramref name="subjectId"/>, or null when the user was deleted or is locked out.</summary>
    Task<UserProfile?> FindActiveAsync(string subjectId, CancellationToken cancellationToken = default);
}

/// <summary>Claims of an end-user (OpenID Connect Core §5.1).</summary>
/// <param name="SubjectId">The <c>sub</c>: stable, never reassigned.</param>
/// <param name="PreferredUsername">The <c>preferred_username</c>.</param>
/// <param name="Name">The <c>name</c>; null when unknown.</param>
/// <param name="Email">The <c>email</c>; null when unknown.</param>
/// <param name="EmailVerified">The <c>email_verified</c>.</param>
public sealed record UserProfile(string SubjectId, string PreferredUsername, string? Name, string? Email, bool EmailVerified);
