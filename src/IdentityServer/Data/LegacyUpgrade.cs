using System.Data.Common;
using System.Text.Json;
using IdentityServer.Protocol.Clients;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Data;

/// <summary>
/// Carries what a database of the previous release (the hand-written protocol engine, up to migration <c>AddKeyWithdrawal</c>) keeps
/// in its own protocol tables into OpenIddict's, between the migration that adds OpenIddict's tables and the one that drops the old ones:
/// <list type="bullet">
/// <item>clients (table <c>Clients</c>) become OpenIddict applications with every setting, and their secrets (table
/// <c>ClientSecrets</c>, already SHA-256) keep working, expiry and all;</item>
/// <item>remembered consents (table <c>Consents</c>) become permanent authorizations;</item>
/// <item>access tokens that were revoked (table <c>AccessTokens</c>, alone or with their grant in <c>Grants</c>) go on the revoked list
/// (<c>RevokedAccessTokens</c>), so they stay refused until they expire;</item>
/// <item>users, passkeys, TOTP keys, recovery codes, signing keys, the Data Protection key ring and the audit log are in tables that stay.</item>
/// </list>
/// Outstanding authorization codes, device codes and refresh tokens are not carried over: clients sign people in again (the README's
/// upgrade notes say so). Access tokens issued before and not revoked stay valid until they expire: they are JWTs signed by keys that
/// stay published.
/// Idempotent: what was already carried over is skipped, so a second run changes nothing, and two nodes upgrading the same database at
/// once do not fail (what the other made first is kept).
/// </summary>
public sealed class LegacyUpgrade(IdentityServerDbContext db, ClientApplicationManager clients, IOpenIddictAuthorizationManager authorizations,
    ILogger<LegacyUpgrade> logger)
{
    private static readonly DateTimeOffsetToBinaryConverter Binary = new();

    /// <summary>Carries clients, consents and revoked access tokens over; returns how many of each were added.</summary>
    public async Task<(int Clients, int Consents, int RevokedAccessTokens)> RunAsync(CancellationToken ct)
    {
        if (db.Database.ProviderName != "Microsoft.EntityFrameworkCore.Sqlite" || !await TableExistsAsync("Clients", ct)) return (0, 0, 0);
        var clientCount = 0;
        var secrets = await ReadAsync("SELECT ClientEntityId, Hash, Description, CreatedAt, ExpiresAt FROM ClientSecrets", r =>
            (ClientEntityId: r.GetInt64(0), Secret: new StoredClientSecret(r.GetString(1), Time(r, 3)!.Value, Time(r, 4), r.IsDBNull(2) ? null : r.GetString(2))), ct);
        var rows = await ReadAsync("""
            SELECT Id, ClientId, DisplayName, Enabled, RedirectUris, PostLogoutRedirectUris, GrantTypes, Scopes, RequireConsent, RequireMfa,
                   IdTokenSignedResponseAlg, BackChannelLogoutUri, AccessTokenLifetimeSeconds, RefreshTokenLifetimeSeconds, Source, CreatedAt
            FROM Clients
            """, r => (Id: r.GetInt64(0), Profile: new ClientProfile
        {
            ClientId = r.GetString(1), DisplayName = Text(r, 2), Enabled = r.GetBoolean(3), RedirectUris = List(r, 4), PostLogoutRedirectUris = List(r, 5),
            GrantTypes = List(r, 6), Scopes = List(r, 7), RequireConsent = r.GetBoolean(8), RequireMfa = r.GetBoolean(9), IdTokenSignedResponseAlg = Text(r, 10),
            BackChannelLogoutUri = Text(r, 11), AccessTokenLifetimeSeconds = Int(r, 12), RefreshTokenLifetimeSeconds = Int(r, 13),
            Source = Text(r, 14) ?? ClientSources.Admin, CreatedAt = Time(r, 15) ?? DateTimeOffset.UnixEpoch,
        }), ct);
        foreach (var (id, profile) in rows)
        {
            if (await clients.FindAnyByClientIdAsync(profile.ClientId, ct) is not null) continue;
            var own = secrets.Where(s => s.ClientEntityId == id).Select(s => s.Secret).ToList();
            try
            {
                await clients.CreateAsync(profile with { Confidential = own.Count > 0 }, null, own, ct);
                clientCount++;
            }
            catch (Exception e) when (e is OpenIddictExceptions.ValidationException or DbUpdateException)
            {
                // Another node upgrading the same database at the same moment carried it over first; anything else is a real failure.
                // (Read past OpenIddict's entity cache, which remembers that the client was missing a moment ago.)
                db.ChangeTracker.Clear();
                if (!await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreApplication>().AsNoTracking()
                        .AnyAsync(a => a.ClientId == profile.ClientId, ct)) throw;
            }
        }

        var consentCount = 0;
        if (await TableExistsAsync("Consents", ct))
        {
            var consents = await ReadAsync("SELECT SubjectId, ClientId, Scopes, UpdatedAt FROM Consents",
                r => (Subject: r.GetString(0), ClientId: r.GetString(1), Scopes: List(r, 2), At: Time(r, 3) ?? DateTimeOffset.UnixEpoch), ct);
            foreach (var c in consents)
            {
                if (await clients.FindAnyByClientIdAsync(c.ClientId, ct) is not { } application) continue;
                var applicationId = await clients.GetIdAsync(application, ct);
                var exists = false;
                await foreach (var _ in authorizations.FindAsync(c.Subject, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, null, ct)) exists = true;
                if (exists) continue;
                var descriptor = new OpenIddictAuthorizationDescriptor
                {
                    ApplicationId = applicationId, Subject = c.Subject, Type = AuthorizationTypes.Permanent, Status = Statuses.Valid, CreationDate = c.At,
                };
                descriptor.Scopes.UnionWith(c.Scopes);
                await authorizations.CreateAsync(descriptor, ct);
                consentCount++;
            }
        }
        var revokedCount = await CarryRevokedAccessTokensAsync(ct);
        if (clientCount + consentCount + revokedCount > 0)
            logger.LogWarning("Upgrade: carried {Clients} client(s), {Consents} consent(s) and {Revoked} revoked access token(s) over; outstanding codes and refresh tokens were dropped",
                clientCount, consentCount, revokedCount);
        return (clientCount, consentCount, revokedCount);
    }

    private async Task<int> CarryRevokedAccessTokensAsync(CancellationToken ct)
    {
        if (!await TableExistsAsync("AccessTokens", ct) || !await TableExistsAsync("Grants", ct)) return 0;
        var revoked = await ReadAsync("""
            SELECT a.Jti, a.ExpiresAt, COALESCE(a.RevokedAt, g.RevokedAt)
            FROM AccessTokens a LEFT JOIN Grants g ON g.Id = a.GrantId
            WHERE a.RevokedAt IS NOT NULL OR g.RevokedAt IS NOT NULL
            """, r => (Jti: r.GetString(0), ExpiresAt: Time(r, 1)!.Value, RevokedAt: Time(r, 2)!.Value), ct);
        var known = (await db.RevokedAccessTokens.AsNoTracking().Select(x => x.Jti).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var added = 0;
        // Expired ones too: the cleanup removes them from the list, by the server's clock.
        foreach (var token in revoked.Where(t => !known.Contains(t.Jti)))
        {
            db.RevokedAccessTokens.Add(new Entities.RevokedAccessTokenEntity { Jti = token.Jti, ExpiresAt = token.ExpiresAt, RevokedAt = token.RevokedAt });
            added++;
        }
        if (added == 0) return 0;
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateException)
        {
            // Another node upgrading at the same moment listed them first: the list holds them either way.
            db.ChangeTracker.Clear();
            return 0;
        }
        return added;
    }

    private async Task<bool> TableExistsAsync(string table, CancellationToken ct) =>
        (await ReadAsync($"SELECT name FROM sqlite_master WHERE type = 'table' AND name = '{table}'", r => r.GetString(0), ct)).Count == 1;

    private async Task<List<T>> ReadAsync<T>(string sql, Func<DbDataReader, T> map, CancellationToken ct)
    {
        var connection = db.Database.GetDbConnection();
        var opened = connection.State != System.Data.ConnectionState.Open;
        if (opened) await connection.OpenAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            await using var reader = await command.ExecuteReaderAsync(ct);
            var rows = new List<T>();
            while (await reader.ReadAsync(ct)) rows.Add(map(reader));
            return rows;
        }
        finally { if (opened) await connection.CloseAsync(); }
    }

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);
    private static int? Int(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetInt32(i);
    private static IReadOnlyList<string> List(DbDataReader r, int i) => r.IsDBNull(i) ? [] : JsonSerializer.Deserialize<string[]>(r.GetString(i)) ?? [];
    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : (DateTimeOffset)Binary.ConvertFromProvider(r.GetInt64(i))!;
}
