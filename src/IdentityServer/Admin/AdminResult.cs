namespace IdentityServer.Admin;

/// <summary>Why an administrative operation did not happen; the API maps these to RFC 9457 problem details.</summary>
public enum AdminFailure
{
    /// <summary>It happened.</summary>
    None,
    /// <summary>No such client or user (404).</summary>
    NotFound,
    /// <summary>It would clash with what exists, e.g. a taken <c>client_id</c> (400 in the API: input to fix).</summary>
    Conflict,
    /// <summary>The input breaks a rule; <see cref="AdminResult{T}.Errors"/> says which (400).</summary>
    Invalid,
    /// <summary>The client is declared in configuration, which stays authoritative for it (409).</summary>
    ManagedByConfiguration,
    /// <summary>It would leave the server without an active admin, or lock the acting admin out (409).</summary>
    Refused,
}

/// <summary>The outcome of an administrative operation: a value, or a failure with readable errors. Nothing is stored on failure.</summary>
public sealed record AdminResult<T>(T? Value, AdminFailure Failure = AdminFailure.None, IReadOnlyList<string>? Errors = null)
{
    /// <summary>True when the operation happened.</summary>
    public bool Succeeded => Failure == AdminFailure.None;

    public static implicit operator AdminResult<T>(T value) => new(value);

    /// <summary>A failure of <paramref name="kind"/> with <paramref name="errors"/>.</summary>
    public static AdminResult<T> Fail(AdminFailure kind, params string[] errors) => new(default, kind, errors);
}

/// <summary>Who performs an administrative operation, for the audit log.</summary>
/// <param name="Type"><c>user</c> (admin UI or an admin's token), <c>client</c> (a service's token) or <c>cli</c>.</param>
/// <param name="Id">The user's <c>sub</c>, the <c>client_id</c>, or the operating-system account.</param>
public sealed record AdminActor(string Type, string? Id)
{
    /// <summary>The command line, run by the current operating-system account.</summary>
    public static AdminActor CommandLine => new("cli", Environment.UserName);
}
