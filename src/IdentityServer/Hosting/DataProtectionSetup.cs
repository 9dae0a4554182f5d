using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;

namespace IdentityServer.Hosting;

/// <summary>
/// Section <c>IdentityServer:DataProtection</c>: an optional X.509 certificate (PKCS#12 file) that encrypts the Data
/// Protection key ring at rest. The key ring lives in the database with everything it protects (signing keys, TOTP
/// secrets, cookies); without a certificate a copy of the database is enough to open them, with one the copy also needs
/// the certificate's private key, kept outside the database (a mounted secret). Keys created before the certificate
/// was configured stay readable and unencrypted until they expire (90 days).
/// </summary>
public sealed class DataProtectionSettings
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "IdentityServer:DataProtection";

    /// <summary>Path of a PKCS#12 (.pfx) file with the certificate and its private key; null for no encryption at rest.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PKCS#12 file's password, if any.</summary>
    public string? CertificatePassword { get; set; }

    /// <summary>Applies the certificate, if configured, to <paramref name="builder"/>.</summary>
    /// <exception cref="ConfigurationException">The file is missing, unreadable, or has no private key (start-up fails, naming the key).</exception>
    public static void Apply(IDataProtectionBuilder builder, IConfiguration configuration)
    {
        var settings = configuration.GetSection(SectionName).Get<DataProtectionSettings>();
        if (string.IsNullOrWhiteSpace(settings?.CertificatePath)) return;
        X509Certificate2 certificate;
        try { certificate = X509CertificateLoader.LoadPkcs12FromFile(settings.CertificatePath, settings.CertificatePassword); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ConfigurationException($"{SectionName}:CertificatePath '{settings.CertificatePath}' cannot be loaded: {e.Message}", e);
        }
        if (!certificate.HasPrivateKey)
            throw new ConfigurationException($"{SectionName}:CertificatePath '{settings.CertificatePath}' has no private key.");
        builder.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
    }
}
