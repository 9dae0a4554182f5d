using IdentityServer.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace IdentityServer.Data;

/// <summary>
/// The one EF Core model: ASP.NET Core Identity (schema version 3, with passkeys), clients, grants and
/// their artefacts, consents, signing keys and the Data Protection key ring. No provider-specific SQL;
/// migrations live in <c>migrations/IdentityServer.Migrations.&lt;Provider&gt;</c>.
/// </summary>
public class IdentityServerDbContext(DbContextOptions<IdentityServerDbContext> options) : IdentityDbContext<ApplicationUser>(options)
{
    public DbSet<ClientEntity> Clients => Set<ClientEntity>();
    public DbSet<ClientSecretEntity> ClientSecrets => Set<ClientSecretEntity>();
    public DbSet<GrantEntity> Grants => Set<GrantEntity>();
    public DbSet<AuthorizationCodeEntity> AuthorizationCodes => Set<AuthorizationCodeEntity>();
    public DbSet<RefreshTokenEntity> RefreshTokens => Set<RefreshTokenEntity>();
    public DbSet<AccessTokenEntity> AccessTokens => Set<AccessTokenEntity>();
    public DbSet<DeviceCodeEntity> DeviceCodes => Set<DeviceCodeEntity>();
    public DbSet<PasskeyUsageEntity> PasskeyUsage => Set<PasskeyUsageEntity>();
    public DbSet<ConsumedChallengeEntity> ConsumedChallenges => Set<ConsumedChallengeEntity>();
    public DbSet<AuditEventEntity> AuditEvents => Set<AuditEventEntity>();
    public DbSet<LeaseEntity> Leases => Set<LeaseEntity>();
    public DbSet<ConsentEntity> Consents => Set<ConsentEntity>();
    public DbSet<SigningKeyEntity> SigningKeys => Set<SigningKeyEntity>();
    public DbSet<DataProtectionKeyEntity> DataProtectionKeys => Set<DataProtectionKeyEntity>();

    /// <inheritdoc />
    protected override void ConfigureConventions(ModelConfigurationBuilder builder)
    {
        base.ConfigureConventions(builder);
        // SQLite stores DateTimeOffset as text and cannot compare or order it in SQL; a 64-bit
        // binary form keeps comparisons (expiry, cleanup) translatable. Other providers keep native types.
        if (Database.ProviderName == "Microsoft.EntityFrameworkCore.Sqlite")
        {
            builder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
            builder.Properties<DateTimeOffset?>().HaveConversion<DateTimeOffsetToBinaryConverter>();
        }
    }

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder b)
    {
        // Identity picks its schema from IdentityOptions.Stores.SchemaVersion in the application's services:
        // the host and the migration tool both set IdentitySchemaVersions.Version3 (passkeys).
        base.OnModelCreating(b);

        // Written only by the conditional ExecuteUpdate that accepts a TOTP step: Identity's UpdateAsync, which saves the whole
        // tracked user, must not put back an older value it loaded before (that would make a used code valid again).
        b.Entity<ApplicationUser>().Property(x => x.LastTotpStep).Metadata.SetAfterSaveBehavior(Microsoft.EntityFrameworkCore.Metadata.PropertySaveBehavior.Ignore);

        b.Entity<ClientEntity>(e =>
        {
            e.ToTable("Clients");
            e.HasIndex(x => x.ClientId).IsUnique();
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.Property(x => x.DisplayName).HasMaxLength(200);
            e.Property(x => x.Source).HasMaxLength(32);
            e.HasMany(x => x.Secrets).WithOne().HasForeignKey(x => x.ClientEntityId).OnDelete(DeleteBehavior.Cascade);
        });
        b.Entity<ClientSecretEntity>(e =>
        {
            e.ToTable("ClientSecrets");
            e.Property(x => x.Hash).HasMaxLength(64);
            e.Property(x => x.Description).HasMaxLength(200);
        });
        b.Entity<GrantEntity>(e =>
        {
            e.ToTable("Grants");
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.Property(x => x.SessionId).HasMaxLength(64);
            e.HasIndex(x => new { x.SubjectId, x.ClientId });
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<AuthorizationCodeEntity>(e =>
        {
            e.ToTable("AuthorizationCodes");
            e.HasKey(x => x.CodeHash);
            e.Property(x => x.CodeHash).HasMaxLength(64);
            e.Property(x => x.GrantId).HasMaxLength(64);
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.Property(x => x.CodeChallenge).HasMaxLength(128);
            e.HasIndex(x => x.GrantId);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<RefreshTokenEntity>(e =>
        {
            e.ToTable("RefreshTokens");
            e.HasKey(x => x.TokenHash);
            e.Property(x => x.TokenHash).HasMaxLength(64);
            e.Property(x => x.GrantId).HasMaxLength(64);
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.HasIndex(x => x.GrantId);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<AccessTokenEntity>(e =>
        {
            e.ToTable("AccessTokens");
            e.HasKey(x => x.Jti);
            e.Property(x => x.Jti).HasMaxLength(64);
            e.Property(x => x.GrantId).HasMaxLength(64);
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.HasIndex(x => x.GrantId);
            e.HasIndex(x => x.ExpiresAt);
        });
        b.Entity<DeviceCodeEntity>(e =>
        {
            e.ToTable("DeviceCodes");
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.DeviceCodeHash).HasMaxLength(64);
            e.Property(x => x.UserCodeHash).HasMaxLength(64);
            e.Property(x => x.ClientId).HasMaxLength(200);
            e.Property(x => x.Status).HasMaxLength(16);
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.HasIndex(x => x.DeviceCodeHash).IsUnique();
            e.HasIndex(x => x.UserCodeHash).IsUnique();
            e.HasIndex(x => x.ExpiresAt);
        });
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
        b.Entity<ConsentEntity>(e =>
        {
            e.ToTable("Consents");
            e.HasKey(x => new { x.SubjectId, x.ClientId });
            e.Property(x => x.SubjectId).HasMaxLength(450);
            e.Property(x => x.ClientId).HasMaxLength(200);
        });
        b.Entity<SigningKeyEntity>(e =>
        {
            e.ToTable("SigningKeys");
            e.Property(x => x.Id).HasMaxLength(64);
            e.Property(x => x.Algorithm).HasMaxLength(16);
        });
        b.Entity<DataProtectionKeyEntity>(e =>
        {
            e.ToTable("DataProtectionKeys");
            e.Property(x => x.FriendlyName).HasMaxLength(200);
        });
    }
}
