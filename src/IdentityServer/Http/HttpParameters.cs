using IdentityServer.Protocol.Errors;
using IdentityServer.Protocol.Requests;

namespace IdentityServer.Http;

/// <summary>Reads a request's query string or form body into <see cref="OAuthParameters"/>, once.</summary>
public static class HttpParameters
{
    /// <summary>The query string's parameters.</summary>
    public static OAuthResult<OAuthParameters> FromQuery(HttpRequest request) =>
        OAuthParameters.Parse(request.Query.Select(kv => KeyValuePair.Create(kv.Key, (IReadOnlyList<string?>)kv.Value.ToArray())));

    /// <summary>
    /// The <c>application/x-www-form-urlencoded</c> body's parameters (RFC 6749 §3.2). Another content type gives
    /// <c>invalid_request</c>. A body over ASP.NET's form limits is also <c>invalid_request</c>.
    /// </summary>
    public static async Task<OAuthResult<OAuthParameters>> FromFormAsync(HttpRequest request, CancellationToken ct)
    {
        if (!request.HasFormContentType || request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) != true)
            return OAuthError.InvalidRequest("The request body must be application/x-www-form-urlencoded.");
        IFormCollection form;
        try { form = await request.ReadFormAsync(ct); }
        catch (InvalidDataException) { return OAuthError.InvalidRequest("The request body is too large or malformed."); }
        catch (IOException) { return OAuthError.InvalidRequest("The request body could not be read."); }
        return OAuthParameters.Parse(form.Select(kv => KeyValuePair.Create(kv.Key, (IReadOnlyList<string?>)kv.Value.ToArray())));
    }
}
