using System.Xml.Linq;
using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Data.Stores;

/// <summary>
/// Keeps the ASP.NET Data Protection key ring in the database, so cookies, antiforgery tokens and the
/// protected signing keys survive restarts and work on every node. (The EF package for this is not
/// available here; this is the small equivalent.)
/// </summary>
public sealed class EfXmlRepository(IServiceScopeFactory scopes) : IXmlRepository
{
    /// <inheritdoc />
    public IReadOnlyCollection<XElement> GetAllElements()
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        return db.DataProtectionKeys.Select(k => k.Xml).ToList().Select(x => XElement.Parse(x)).ToList();
    }

    /// <inheritdoc />
    public void StoreElement(XElement element, string friendlyName)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        db.DataProtectionKeys.Add(new DataProtectionKeyEntity { FriendlyName = friendlyName, Xml = element.ToString(SaveOptions.DisableFormatting) });
        db.SaveChanges();
    }
}
