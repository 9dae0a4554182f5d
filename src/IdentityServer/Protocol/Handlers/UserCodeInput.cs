using IdentityServer.Interaction;
using OpenIddict.Server;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace IdentityServer.Protocol.Handlers;

/// <summary>
/// What reaches OpenIddict as the <c>user_code</c> at the verification pages (RFC 8628 §3.3):
/// <list type="bullet">
/// <item>a code as a person types it, in any case, with or without the dash or spaces, normalized to the stored form
/// (<see cref="UserCode.Normalize"/>); input that cannot be a code is dropped, so it is never looked up;</item>
/// <item>on the confirmation page, the code carried in the sealed ticket (<see cref="InteractionTickets"/>, 15 minutes), which keeps it
/// out of the address bar across sign-in.</item>
/// </list>
/// </summary>
public sealed class UserCodeInput(InteractionTickets tickets) : IOpenIddictServerHandler<ExtractEndUserVerificationRequestContext>
{
    /// <summary>The request parameter of the confirmation page's ticket: <c>ticket</c> in its address, <c>Ticket</c> in its form.</summary>
    public static readonly string[] TicketParameters = ["ticket", "Ticket"];

    /// <summary>After the request was read and its parameters checked.</summary>
    public static OpenIddictServerHandlerDescriptor Descriptor { get; } = OpenIddictServerHandlerDescriptor.CreateBuilder<ExtractEndUserVerificationRequestContext>()
        .UseSingletonHandler<UserCodeInput>()
        .SetOrder(int.MaxValue - 100_000)
        .SetType(OpenIddictServerHandlerType.Custom)
        .Build();

    /// <inheritdoc />
    public ValueTask HandleAsync(ExtractEndUserVerificationRequestContext context)
    {
        if (context.Request is not { } request) return ValueTask.CompletedTask;
        var ticket = TicketParameters.Select(name => (string?)request[name]).FirstOrDefault(value => value is not null);
        var typed = ticket is not null ? tickets.Open(ticket, InteractionTickets.DeviceKind)?.Value : request.UserCode;
        request.UserCode = UserCode.Normalize(typed);
        return ValueTask.CompletedTask;
    }
}
