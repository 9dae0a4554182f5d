using IdentityServer.Admin;
using IdentityServer.Data;
using Microsoft.EntityFrameworkCore;

namespace IdentityServer.Pages.Admin;

/// <summary>Signing keys with their state (published, active, retired); no key material.</summary>
public sealed class KeysModel(IdentityServerDbContext db, Options.IdentityServerOptions options, TimeProvider time) : AdminPageModel
{
    public IReadOnlyList<SigningKeyView> Keys { get; private set; } = [];

    /// <summary>Lists the keys.</summary>
    public async Task OnGetAsync() =>
        Keys = await SigningKeyView.ListAsync(db, options, time, HttpContext.RequestAborted);
}
