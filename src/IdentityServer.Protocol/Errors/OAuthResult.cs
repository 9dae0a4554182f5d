using System.Diagnostics.CodeAnalysis;

namespace IdentityServer.Protocol.Errors;

/// <summary>Either a value or an <see cref="OAuthError"/>; the way rules and handlers report failure without throwing.</summary>
/// <typeparam name="T">The success value.</typeparam>
public readonly record struct OAuthResult<T>
{
    private OAuthResult(T? value, OAuthError? error) { Value = value; Error = error; }

    /// <summary>The success value; default when <see cref="Error"/> is set.</summary>
    public T? Value { get; }

    /// <summary>The protocol error; null on success.</summary>
    public OAuthError? Error { get; }

    /// <summary>True when this holds a value.</summary>
    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool Succeeded => Error is null;

    public static implicit operator OAuthResult<T>(T value) => new(value, null);
    public static implicit operator OAuthResult<T>(OAuthError error) => new(default, error);
}
