using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Hosting;

/// <summary><c>IdentityServer:DataProtection:CertificatePath</c>: the key ring in the database is encrypted with the certificate.</summary>
public sealed class DataProtectionAtRestTests : IDisposable
{
    private readonly string _pfx = Path.Combine(Path.GetTempPath(), $"idsrv-dp-{Guid.NewGuid():N}.pfx");

    public DataProtectionAtRestTests()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=IdentityServer Data Protection", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllBytes(_pfx, certificate.Export(X509ContentType.Pfx, "pfx-password"));
    }

    public void Dispose() => File.Delete(_pfx);

    [Fact]
    public async Task WithCertificate_KeyRingIsEncrypted_AndTheServerWorks()
    {
        using var factory = new IdentityServerFactory();
        factory.Settings["IdentityServer:DataProtection:CertificatePath"] = _pfx;
        factory.Settings["IdentityServer:DataProtection:CertificatePassword"] = "pfx-password";
        await new OidcDriver(factory.CreateBrowser()).SignInAndGetTokensAsync();

        using var scope = factory.Services.CreateScope();
        var keys = await scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().DataProtectionKeys.Select(k => k.Xml).ToListAsync();
        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            Assert.Contains("encryptedSecret", xml);
            Assert.DoesNotContain("unencrypted form", xml);
        });
    }

    [Fact]
    public void WithoutCertificate_KeyRingIsStoredUnencrypted_AsDocumented()
    {
        using var factory = new IdentityServerFactory();
        factory.CreateBrowser();
        using var scope = factory.Services.CreateScope();
        Assert.All(scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>().DataProtectionKeys.Select(k => k.Xml).ToList(),
            xml => Assert.DoesNotContain("encryptedSecret", xml));
    }

    [Fact]
    public async Task UnreadableCertificate_RefusedAtStartup_NamingTheKey()
    {
        var errors = await StartupConfigurationTests.RefusedAtStartupAsync(new()
        {
            ["IdentityServer__DataProtection__CertificatePath"] = _pfx, ["IdentityServer__DataProtection__CertificatePassword"] = "wrong",
        });
        Assert.Contains("IdentityServer:DataProtection:CertificatePath", errors);
    }
}
