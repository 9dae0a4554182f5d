using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace IdentityServer.Data;

/// <summary>
/// The one EF Core model:
/// <list type="bullet">
/// <item>ASP.NET Core Identity (schema version 3, with passkeys);</item>
/// <item>OpenIddict's applications (clients), authorizations (grants and remembered consents), scopes and tokens
/// (tables <c>OpenIddict*</c>);</item>
/// <item>the ASP.NET Data Protection key ring (<see cref="IDataProtectionKeyContext"/>, table <c>DataProtectionKeys</c>);</item>
/// <item>ours: signing and token encryption keys, revoked access tokens, device polling state, the clients of each session,
/// passkey usage, used WebAuthn challenges, failed client authentications, the audit log and leases.</item>
/// </list>
/// No provider-specific SQL; migrations live in <c>migrations/IdentityServer.Migrations.&lt;Provider&gt;</c>.
/// </summary>
public class IdentityServerDbContext(DbContextOptions<IdentityServerDbContext> options)
    : IdentityDbContext<ApplicationUser>(options), IDataProtectionKeyContext
{
    public DbSet<PasskeyUsageEntity> PasskeyUsage => Set<PasskeyUsageEntity>();
    public DbSet<ConsumedChallengeEntity> ConsumedChallenges => Set<ConsumedChallengeEntity>();
    public DbSet<AuditEventEntity> AuditEvents => Set<AuditEventEntity>();
    public DbSet<LeaseEntity> Leases => Set<LeaseEntity>();
    public DbSet<SigningKeyEntity> SigningKeys => Set<SigningKeyEntity>();
    public DbSet<TokenEncryptionKeyEntity> TokenEncryptionKeys => Set<TokenEncryptionKeyEntity>();
    public DbSet<RevokedAccessTokenEntity> RevokedAccessTokens => Set<RevokedAccessTokenEntity>();
    public DbSet<DevicePollEntity> DevicePolls => Set<DevicePollEntity>();
    public DbSet<SessionClientEntity> SessionClients => Set<SessionClientEntity>();
    public DbSet<ClientAuthenticationFailureEntity> ClientAuthenticationFailures => Set<ClientAuthenticationFailureEntity>();

    /// <inheritdoc />
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        base.ConfigureConventions(builder);
        // Every timestamp is written in UTC (offset 0) and read back in UTC, on every provider: PostgreSQL's timestamptz takes
        // nothing else, and so an instant compares and round-trips the same on both. SQLite stores DateTimeOffset as text, which it
        // cannot compare or order in SQL; there the UTC value goes into EF's 64-bit binary form, which orders by instant (rows
        // written before with another offset read back as the same instant, in UTC). OpenIddict's entities use DateTime in UTC.
        if (Database.ProviderName == "Microsoft.EntityFrameworkCore.Sqlite")
        {
            builder.Properties<DateTimeOffset>().HaveConversion<UtcBinaryConverter>();
            builder.Properties<DateTimeOffset?>().HaveConversion<UtcBinaryConverter>();
        }
        else
        {
            builder.Properties<DateTimeOffset>().HaveConversion<UtcConverter>();
            builder.Properties<DateTimeOffset?>().HaveConversion<UtcConverter>();
        }
    }

    /// <summary>A <see cref="DateTimeOffset"/> in UTC both ways (the same instant, offset 0).</summary>
    public sealed class UtcConverter() : ValueConverter<DateTimeOffset, DateTimeOffset>(v => v.ToUniversalTime(), v => v.ToUniversalTime());

    /// <summary><see cref="UtcConverter"/> and then EF Core's <see cref="DateTimeOffsetToBinaryConverter"/> (SQLite's column form).</summary>
    public sealed class UtcBinaryConverter : ValueConverter<DateTimeOffset, long>
    {
        private static readonly ValueConverter Composite = new UtcConverter().ComposeWith(new DateTimeOffsetToBinaryConverter());

        /// <summary>Creates the converter from the composition's expressions.</summary>
        public UtcBinaryConverter() : base(
            (System.Linq.Expressions.Expression<Func<DateTimeOffset, long>>)Composite.ConvertToProviderExpression,
            (System.Linq.Expressions.Expression<Func<long, DateTimeOffset>>)Composite.ConvertFromProviderExpression)
        {
        }
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        // Identity picks its schema from IdentityOptions.Stores.SchemaVersion in the application's services:
        // the host and the migration tool both set IdentitySchemaVersions.Version3 (passkeys).
        base.OnModelCreating(b);
        b.UseOpenIddict();
        // The key ring's table as the previous release made it: a key is never stored without its XML, and keeping the column NOT NULL
        // spares SQLite a table rebuild (which cannot run inside the migration's transaction).
        b.Entity<DataProtectionKey>(e =>
        {
            e.ToTable("DataProtectionKeys");
            e.Property(x => x.Xml).IsRequired();
            e.Property(x => x.FriendlyName).HasMaxLength(200);
        });

        // Written only by the conditional ExecuteUpdate that accepts a TOTP step: Identity's UpdateAsync, which saves the whole
        // tracked user, must not put back an older value it loaded before (that would make a used code valid again).
        b.Entity<ApplicationUser>().Property(x => x.LastTotpStep).Metadata.SetAfterSaveBehavior(Microsoft.EntityFrameworkCore.Metadata.PropertySaveBehavior.Ignore);

        b.Entity<PasskeyUsageEntity>(e =>
        {
            e.ToTable("PasskeyUsage");
            e.HasKey(x => x.CredentialId);
            e.Property(x => x.CredentialId).HasMaxLength(1400);
            e.Property(x => x.UserId).HasMaxLength(450);
            e.HasIndex(x => x.UserId);
        });
        b.Entity<ConsumedChallengeEntity>(e =>
        {
            e.ToTable("ConsumedChallenges");
            e.HasKey(x => x.ChallengeHash);
            e.Property(x => x.ChallengeHash).HasMaxLength(64);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<AuditEventEntity>(e =>
        {
            e.ToTable("AuditEvents");
            e.Property(x => x.Event).HasMaxLength(64);
            e.Property(x => x.ActorType).HasMaxLength(16);
            e.Property(x => x.ActorId).HasMaxLength(450);
            e.Property(x => x.SubjectType).HasMaxLength(16);
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.Property(x => x.Reason).HasMaxLength(500);
            e.Property(x => x.Address).HasMaxLength(64);
            e.HasIndex(x => x.At);
            e.HasIndex(x => new { x.Event, x.At });
            e.HasIndex(x => new { x.ActorId, x.At });
            e.HasIndex(x => new { x.SubjectId, x.At });
        });
        b.Entity<LeaseEntity>(e =>
        {
            e.ToTable("Leases");
            e.HasKey(x => x.Name);
            e.Property(x => x.Name).HasMaxLength(64);
            e.Property(x => x.Holder).HasMaxLength(200);
        });
        b.Entity<SigningKeyEntity>(e =>
        {
            e.ToTable("SigningKeys");
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.Algorithm).HasMaxLength(16);
        });
        b.Entity<TokenEncryptionKeyEntity>(e =>
        {
            e.ToTable("TokenEncryptionKeys");
            e.Property(x => x.Id).HasMaxLength(64);
        });
        b.Entity<RevokedAccessTokenEntity>(e =>
        {
            e.ToTable("RevokedAccessTokens");
            e.HasKey(x => x.Jti);
            e.Property(x => x.Jti).HasMaxLength(100);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<DevicePollEntity>(e =>
        {
            e.ToTable("DevicePolls");
            e.HasKey(x => x.DeviceCodeId);
            e.Property(x => x.DeviceCodeId).HasMaxLength(100);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<ClientAuthenticationFailureEntity>(e =>
        {
            e.ToTable("ClientAuthenticationFailures");
            e.HasKey(x => x.Key);
            e.Property(x => x.Key).HasMaxLength(120);
            e.HasIndex(x => x.WindowStart);
        });
        b.Entity<SessionClientEntity>(e =>
        {
            e.ToTable("SessionClients");
            e.HasKey(x => new { x.SessionId, x.ClientId });
            e.Property(x => x.SessionId).HasMaxLength(64);
            e.Property(x => x.ClientId).HasMaxLength(100);
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.HasIndex(x => x.SignedInAt);
        });
    }
}
