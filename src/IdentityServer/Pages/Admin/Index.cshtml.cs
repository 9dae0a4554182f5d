using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Pages.Admin;

/// <summary>The admin UI's start page.</summary>
public sealed class IndexModel(IdentityServerDbContext db, OpenIddict.Abstractions.IOpenIddictApplicationManager clients) : AdminPageModel
{
    public int Clients { get; private set; }
    public int Users { get; private set; }

    /// <summary>Counts clients and users.</summary>
    public async Task OnGetAsync()
    {
        Clients = (int)await clients.CountAsync(HttpContext.RequestAborted);
        Users = await db.Users.CountAsync(HttpContext.RequestAborted);
    }
}
