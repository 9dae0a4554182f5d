namespace IdentityServer.Admin;

/// <summary>RFC 9457 problem details for the admin API (<c>application/problem+json</c>); validation errors listed in <c>errors</c>.</summary>
public static class AdminProblems
{
    /// <summary>A problem with <paramref name="status"/>, <paramref name="title"/> and <paramref name="detail"/>; <c>type</c> is about:blank (RFC 9457 §4.2.1).</summary>
    public static IResult Create(int status, string title, string detail, IReadOnlyList<string>? errors = null)
    {
        var extensions = new Dictionary<string, object?>();
        if (errors is { Count: > 0 }) extensions["errors"] = errors;
        return Results.Problem(detail: detail, statusCode: status, title: title, type: "about:blank", extensions: extensions);
    }

    /// <summary>Writes a problem document for the response's status (title: its reason phrase) where no endpoint wrote one.</summary>
    public static Task WriteBareAsync(HttpResponse response, string? detail) =>
        response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["type"] = "about:blank",
            ["title"] = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(response.StatusCode),
            ["status"] = response.StatusCode,
            ["detail"] = detail,
        }, options: null, contentType: "application/problem+json");

    /// <summary>403: authenticated but not allowed.</summary>
    public static IResult Forbidden(string detail) => Create(StatusCodes.Status403Forbidden, "Forbidden", detail);

    /// <summary>400 for a body that is not the expected JSON.</summary>
    public static IResult BadBody(string detail) => Create(StatusCodes.Status400BadRequest, "Bad request", detail, [detail]);

    /// <summary>The problem for a failed admin operation: 400 invalid or already existing (with the errors), 404 not found, 409 managed by configuration or refused.</summary>
    public static IResult From<T>(AdminResult<T> result) => result.Failure switch
    {
        AdminFailure.NotFound => Create(StatusCodes.Status404NotFound, "Not found", string.Join(" ", result.Errors ?? [])),
        // A taken client_id or user name is bad input for the caller to fix (400), as the product spec asks.
        AdminFailure.Conflict => Create(StatusCodes.Status400BadRequest, "Already exists", string.Join(" ", result.Errors ?? []), result.Errors),
        AdminFailure.ManagedByConfiguration => Create(StatusCodes.Status409Conflict, "Managed by configuration", string.Join(" ", result.Errors ?? [])),
        AdminFailure.Refused => Create(StatusCodes.Status409Conflict, "Refused", string.Join(" ", result.Errors ?? [])),
        _ => Create(StatusCodes.Status400BadRequest, "Invalid request", "The request breaks one or more rules; see errors.", result.Errors),
    };
}
