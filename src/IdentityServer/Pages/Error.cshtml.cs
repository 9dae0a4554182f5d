using System.Diagnostics;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace IdentityServer.Pages;

/// <summary>The page people see for an unexpected failure or an error status (404, 403, …). Details stay in the log.</summary>
[IgnoreAntiforgeryToken]
[ResponseCache(Duration = 0, Location = ResponseCacheLocation.None, NoStore = true)]
public sealed class ErrorModel : PageModel
{
    public string Heading { get; private set; } = "Something went wrong";
    public string Message { get; private set; } = "The server could not complete your request. Please try again.";
    public string? RequestId { get; private set; }

    /// <summary>Chooses the text for <paramref name="status"/> (query), or for the unhandled exception that led here.</summary>
    public void OnGet(int? status) => Describe(status);

    /// <summary>Same as GET, for a failed POST re-executed here.</summary>
    public void OnPost(int? status) => Describe(status);

    private void Describe(int? status)
    {
        RequestId = Activity.Current?.Id ?? HttpContext.TraceIdentifier;
        if (HttpContext.Features.Get<IExceptionHandlerFeature>() is not null) { Response.StatusCode = 500; return; }
        switch (status)
        {
            case 404: Heading = "Page not found"; Message = "There is nothing at this address."; break;
            case 403: Heading = "Access denied"; Message = "You are signed in, but your account may not open this page."; break;
            case 401: Heading = "Sign-in required"; Message = "Please sign in to continue."; break;
            case 400: Heading = "Bad request"; Message = "The request could not be understood. Start again from the application."; break;
            case 405: Heading = "Method not allowed"; Message = "This address does not accept that kind of request."; break;
        }
        if (status is >= 400 and < 600) Response.StatusCode = status.Value;
    }
}
