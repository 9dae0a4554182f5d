using IdentityServer.Protocol.Errors;

namespace IdentityServer.Protocol.Requests;

/// <summary>
/// The parameters of one OAuth request (query string or form body), parsed once.
/// A parameter present with an empty value is treated as omitted (RFC 6749 §3.1);
/// a parameter present more than once is refused with <c>invalid_request</c> (RFC 6749 §3.1, §3.2).
/// </summary>
public sealed class OAuthParameters
{
    /// <summary>Longest accepted value, in characters (8 KiB). Longer values give <c>invalid_request</c>.</summary>
    public const int MaxValueLength = 8192;

    /// <summary>Most distinct parameters accepted in one request.</summary>
    public const int MaxParameterCount = 64;

    private readonly Dictionary<string, string> _values;

    private OAuthParameters(Dictionary<string, string> values) => _values = values;

    /// <summary>All non-empty parameters by name (names are case-sensitive, RFC 6749 §3.1).</summary>
    public IReadOnlyDictionary<string, string> Values => _values;

    /// <summary>The value of <paramref name="name"/>, or null when absent or empty.</summary>
    public string? this[string name] => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>
    /// Parses name/values pairs as an adapter reads them from a query string or an
    /// <c>application/x-www-form-urlencoded</c> body.
    /// </summary>
    /// <returns>The parameters, or <c>invalid_request</c> for a repeated parameter, a value over
    /// <see cref="MaxValueLength"/> characters, or more than <see cref="MaxParameterCount"/> parameters.</returns>
    public static OAuthResult<OAuthParameters> Parse(IEnumerable<KeyValuePair<string, IReadOnlyList<string?>>> pairs)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var count = 0;
        foreach (var (name, raw) in pairs)
        {
            if (++count > MaxParameterCount)
                return OAuthError.InvalidRequest("Too many parameters.");
            if (raw.Count > 1)
                return OAuthError.InvalidRequest($"The '{name}' parameter must not be included more than once.");
            var value = raw.Count == 1 ? raw[0] : null;
            if (value is not null && value.Length > MaxValueLength)
                return OAuthError.InvalidRequest($"The '{name}' parameter is too long.");
            if (!string.IsNullOrEmpty(value))
                values[name] = value;
        }
        return new OAuthParameters(values);
    }
}
