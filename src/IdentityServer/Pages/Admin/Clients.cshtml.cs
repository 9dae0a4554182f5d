using IdentityServer.Admin;
using Microsoft.AspNetCore.Mvc;

namespace IdentityServer.Pages.Admin;

/// <summary>The client list, searchable by id or name.</summary>
public sealed class ClientsModel(ClientAdministration clients) : AdminPageModel
{
    [BindProperty(SupportsGet = true)] public string? Search { get; set; }
    public IReadOnlyList<ClientView> Clients { get; private set; } = [];

    /// <summary>Lists the clients.</summary>
    public async Task OnGetAsync() => Clients = await clients.ListAsync(Search, HttpContext.RequestAborted);
}
