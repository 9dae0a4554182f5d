using System.Security.Cryptography;
using System.Text.Json;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Options;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Keys;

/// <summary>
/// Signing keys in the database (RFC 7517 JWKs; RS256/PS256 on RSA-2048, ES256 on P-256), private parts as PKCS#8 protected
/// with ASP.NET Data Protection. A key's state follows from its times, the same on every node:
/// <list type="bullet">
/// <item>published while now &lt; <c>ActivatedAt</c> (in JWKS, not signing)</item>
/// <item>active while <c>ActivatedAt</c> ≤ now &lt; <c>RetiredAt</c> (signs; the oldest if two overlap)</item>
/// <item>retired while <c>RetiredAt</c> ≤ now &lt; <c>RetiredAt</c> + <see cref="KeyOptions.RetiredPublishedDays"/> (in JWKS), then gone</item>
/// <item>gone at once when withdrawn (<see cref="RotateAsync"/> with <c>immediately</c>, the answer to a leaked key); other nodes
/// stop trusting it at their next reload (within <see cref="RefreshInterval"/>)</item>
/// </list>
/// When the active key has signed for <see cref="KeyOptions.RotationDays"/> minus <see cref="KeyOptions.PublishLeadDays"/>, a
/// successor is published that becomes active <see cref="KeyOptions.PublishLeadDays"/> later, the moment the old key retires.
/// Creating keys happens under a database lease, so several nodes sharing the database rotate once. Loaded keys are cached
/// until <see cref="RefreshInterval"/> passes or the next state change is due.
/// </summary>
public sealed class DbSigningKeyStore(IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, IdentityServerOptions options,
    TimeProvider time, IdentityServer.Hosting.ServerMetrics metrics, ILogger<DbSigningKeyStore> logger) : ISigningKeyStore
{
    /// <summary>How long loaded keys are trusted before the table is read again (1 minute: a key withdrawn on another node or by the CLI stops being used within it).</summary>
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromMinutes(1);

    private const string Purpose = "IdentityServer.SigningKeys.v1";
    private const string LeaseName = "signing-keys";
    private readonly string _node = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Dictionary<string, SecurityKey> _privateKeys = new(StringComparer.Ordinal);
    private Snapshot? _snapshot;

    private sealed record Snapshot(IReadOnlyDictionary<string, SigningCredentials> Signing, IReadOnlyList<JsonWebKey> Published, DateTimeOffset ValidUntil);

    /// <inheritdoc />
    public IReadOnlyList<string> Algorithms { get; } = options.Keys.EffectiveAlgorithms;

    /// <inheritdoc />
    public async Task<SigningCredentials> GetSigningCredentialsAsync(CancellationToken ct = default, string? algorithm = null)
    {
        var snapshot = await GetSnapshotAsync(ct);
        if (snapshot.Signing.TryGetValue(algorithm ?? Algorithms[0], out var credentials)) return credentials;
        logger.LogWarning("No signing key for {Algorithm}: it is not in IdentityServer:Keys:Algorithms; signing with {Default}", algorithm, Algorithms[0]);
        return snapshot.Signing[Algorithms[0]];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<JsonWebKey>> GetPublishedKeysAsync(CancellationToken ct = default) => (await GetSnapshotAsync(ct)).Published;

    private DateTimeOffset _lastForcedRefresh = DateTimeOffset.MinValue;

    /// <inheritdoc />
    public Task RefreshAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        if (now - _lastForcedRefresh < TimeSpan.FromSeconds(10)) return Task.CompletedTask;
        _lastForcedRefresh = now;
        _snapshot = null;
        return GetSnapshotAsync(ct);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> RotateAsync(bool immediately, CancellationToken ct = default)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var now = time.GetUtcNow();
        var created = new List<string>();
        await WithLeaseAsync(db, now, async () =>
        {
            foreach (var alg in Algorithms)
            {
                var keys = await db.SigningKeys.Where(k => k.Algorithm == alg).ToListAsync(ct);
                var current = keys.Where(k => State(k, now) == KeyState.Active).OrderBy(k => k.ActivatedAt).FirstOrDefault();
                var activateAt = immediately ? now : now.AddDays(options.Keys.PublishLeadDays);
                // Keys already waiting to take over step aside: the forced successor wins.
                foreach (var waiting in keys.Where(k => State(k, now) == KeyState.Published)) waiting.RetiredAt = waiting.ActivatedAt;
                if (current is not null)
                {
                    current.RetiredAt = activateAt;
                    // Immediate rotation is the answer to a leaked key: the old key is withdrawn, not kept for validation.
                    if (immediately) current.WithdrawnAt = now;
                }
                var successor = CreateKey(alg, now, activateAt);
                db.SigningKeys.Add(successor);
                created.Add(successor.Id);
            }
            await db.SaveChangesAsync(ct);
            metrics.KeysRotated(immediately ? "immediate" : "requested", created.Count);
        }, ct);
        _snapshot = null;
        logger.LogWarning("Signing keys rotated by request ({Mode}): {Kids}", immediately ? "immediately" : "after the publish lead", string.Join(", ", created));
        return created;
    }

    private async Task<Snapshot> GetSnapshotAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        if (_snapshot is { } s && now < s.ValidUntil) return s;
        await _lock.WaitAsync(ct);
        try
        {
            if (_snapshot is { } again && now < again.ValidUntil) return again;
            _snapshot = await LoadAsync(now, ct);
            return _snapshot;
        }
        finally { _lock.Release(); }
    }

    private async Task<Snapshot> LoadAsync(DateTimeOffset now, CancellationToken ct)
    {
        using var scope = scopes.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<IdentityServerDbContext>();
        var keys = await db.SigningKeys.AsNoTracking().ToListAsync(ct);
        if (Algorithms.Any(alg => NeedsWork(keys, alg, now)))
        {
            await WithLeaseAsync(db, now, async () =>
            {
                // Re-read under the lease: another node may have done it already.
                var tracked = await db.SigningKeys.ToListAsync(ct);
                var made = Algorithms.Select(alg => Maintain(db, tracked, alg, now)).OfType<string>().ToList();
                await db.SaveChangesAsync(ct);
                foreach (var reason in made) metrics.KeysRotated(reason);
            }, ct);
            keys = await db.SigningKeys.AsNoTracking().ToListAsync(ct);
        }

        var signing = new Dictionary<string, SigningCredentials>(StringComparer.Ordinal);
        foreach (var alg in Algorithms)
        {
            var active = keys.Where(k => k.Algorithm == alg && State(k, now) == KeyState.Active)
                .OrderBy(k => k.ActivatedAt!.Value.ToUnixTimeMilliseconds()).ThenBy(k => k.Id, StringComparer.Ordinal).FirstOrDefault();
            // Another node holds the lease while creating the very first key: wait for it briefly.
            if (active is null) throw new InvalidOperationException($"No active {alg} signing key yet; another node is creating it. Try again.");
            signing[alg] = new SigningCredentials(PrivateKey(active), alg);
        }
        var published = keys.Where(k => State(k, now) != KeyState.Gone).Select(k => new JsonWebKey(k.PublicJwk)).ToList();

        // Cache until the next state change (a key activating, retiring or leaving JWKS) or the refresh interval.
        var next = keys.SelectMany(k => new DateTimeOffset?[] { k.ActivatedAt, k.RetiredAt, k.RetiredAt?.AddDays(options.Keys.RetiredPublishedDays), RotationDue(k) })
            .Where(t => t > now).Select(t => t!.Value).DefaultIfEmpty(now + RefreshInterval).Min();
        return new Snapshot(signing, published, next < now + RefreshInterval ? next : now + RefreshInterval);
    }

    /// <summary>True when <paramref name="alg"/> has no active key, or its active key is due a successor that does not exist yet.</summary>
    private bool NeedsWork(List<SigningKeyEntity> keys, string alg, DateTimeOffset now)
    {
        var mine = keys.Where(k => k.Algorithm == alg).ToList();
        var active = mine.Where(k => State(k, now) == KeyState.Active).ToList();
        if (active.Count == 0) return true;
        return active.All(k => k.RetiredAt is null && RotationDue(k) <= now) && !mine.Any(k => State(k, now) == KeyState.Published);
    }

    /// <summary>
    /// Creates the first key of <paramref name="alg"/> (active now) or schedules the successor of a key that is due: <c>initial</c> or
    /// <c>scheduled</c> when it made a key, null when nothing was due.
    /// </summary>
    private string? Maintain(IdentityServerDbContext db, List<SigningKeyEntity> keys, string alg, DateTimeOffset now)
    {
        if (!NeedsWork(keys, alg, now)) return null;
        var active = keys.Where(k => k.Algorithm == alg && State(k, now) == KeyState.Active).OrderBy(k => k.ActivatedAt).FirstOrDefault();
        if (active is null)
        {
            var first = CreateKey(alg, now, now);
            db.SigningKeys.Add(first);
            keys.Add(first);
            logger.LogInformation("Created signing key {KeyId} ({Algorithm}), active now", first.Id, alg);
            return "initial";
        }
        // Normally the successor activates when the rotation period ends; if that moment was missed (no node running), one lead later.
        var end = active.ActivatedAt!.Value.AddDays(options.Keys.RotationDays);
        var activateAt = end > now.AddDays(options.Keys.PublishLeadDays) ? end : now.AddDays(options.Keys.PublishLeadDays);
        var successor = CreateKey(alg, now, activateAt);
        db.SigningKeys.Add(successor);
        keys.Add(successor);
        active.RetiredAt = activateAt;
        logger.LogInformation("Published signing key {KeyId} ({Algorithm}); it replaces {OldKeyId} at {ActivateAt:O}", successor.Id, alg, active.Id, activateAt);
        return "scheduled";
    }

    private DateTimeOffset? RotationDue(SigningKeyEntity k) =>
        k.ActivatedAt?.AddDays(options.Keys.RotationDays - options.Keys.PublishLeadDays);

    /// <summary>The key's state, withdrawn counting as gone (neither signs nor validates).</summary>
    private KeyState State(SigningKeyEntity k, DateTimeOffset now) =>
        KeyStates.Of(k, now, options.Keys.RetiredPublishedDays) switch { KeyState.Withdrawn => KeyState.Gone, var state => state };

    private async Task WithLeaseAsync(IdentityServerDbContext db, DateTimeOffset now, Func<Task> work, CancellationToken ct)
    {
        // The lease is short: it only guards the few statements of one rotation. Another node waits for it and then re-reads.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            if (await Lease.TryTakeAsync(db, LeaseName, _node, time.GetUtcNow(), time.GetUtcNow().AddSeconds(30), ct))
            {
                try { await work(); }
                // Released even when the work was cancelled (a stopping start-up): else a restart would wait out the 30 s lease.
                finally { await db.Leases.Where(l => l.Name == LeaseName && l.Holder == _node).ExecuteUpdateAsync(s => s.SetProperty(l => l.ExpiresAt, DateTimeOffset.UnixEpoch), CancellationToken.None); }
                return;
            }
            await Task.Delay(100, ct);
        }
        throw new TimeoutException("The signing-key lease stayed taken for 5 seconds.");
    }

    /// <summary>The key's private part, unprotected once per process and kept (no key objects leak per reload).</summary>
    private SecurityKey PrivateKey(SigningKeyEntity key)
    {
        lock (_privateKeys)
        {
            if (_privateKeys.TryGetValue(key.Id, out var cached)) return cached;
            var pkcs8 = dataProtection.CreateProtector(Purpose).Unprotect(Convert.FromBase64String(key.ProtectedPrivateKey));
            SecurityKey securityKey;
            if (key.Algorithm == SecurityAlgorithms.EcdsaSha256)
            {
                var ec = ECDsa.Create();
                ec.ImportPkcs8PrivateKey(pkcs8, out _);
                securityKey = new ECDsaSecurityKey(ec) { KeyId = key.Id };
            }
            else
            {
                var rsa = RSA.Create();
                rsa.ImportPkcs8PrivateKey(pkcs8, out _);
                securityKey = new RsaSecurityKey(rsa) { KeyId = key.Id };
            }
            _privateKeys[key.Id] = securityKey;
            return securityKey;
        }
    }

    private SigningKeyEntity CreateKey(string alg, DateTimeOffset now, DateTimeOffset activateAt)
    {
        var kid = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        byte[] pkcs8;
        Dictionary<string, string> jwk;
        if (alg == SecurityAlgorithms.EcdsaSha256)
        {
            using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var p = ec.ExportParameters(false);
            jwk = new() { ["kty"] = "EC", ["use"] = "sig", ["alg"] = alg, ["kid"] = kid, ["crv"] = "P-256",
                ["x"] = Base64UrlEncoder.Encode(p.Q.X!), ["y"] = Base64UrlEncoder.Encode(p.Q.Y!) };
            pkcs8 = ec.ExportPkcs8PrivateKey();
        }
        else
        {
            using var rsa = RSA.Create(2048);
            var p = rsa.ExportParameters(false);
            jwk = new() { ["kty"] = "RSA", ["use"] = "sig", ["alg"] = alg, ["kid"] = kid,
                ["n"] = Base64UrlEncoder.Encode(p.Modulus!), ["e"] = Base64UrlEncoder.Encode(p.Exponent!) };
            pkcs8 = rsa.ExportPkcs8PrivateKey();
        }
        return new SigningKeyEntity
        {
            Id = kid, Algorithm = alg, ProtectedPrivateKey = Convert.ToBase64String(dataProtection.CreateProtector(Purpose).Protect(pkcs8)),
            PublicJwk = JsonSerializer.Serialize(jwk), CreatedAt = now, ActivatedAt = activateAt,
        };
    }
}

/// <summary>Where a signing key stands at a moment; see <see cref="KeyStates.Of"/>.</summary>
public enum KeyState
{
    /// <summary>In JWKS, not yet signing.</summary>
    Published,
    /// <summary>Signing (and in JWKS).</summary>
    Active,
    /// <summary>No longer signing, still in JWKS so the tokens it signed validate.</summary>
    Retired,
    /// <summary>Out of JWKS: retired long enough ago.</summary>
    Gone,
    /// <summary>Out of JWKS at once: withdrawn as compromised, or a scheduled successor that a forced rotation replaced.</summary>
    Withdrawn,
}

/// <summary>The state of a signing key, from its times alone, so every node and every tool agrees.</summary>
public static class KeyStates
{
    /// <summary>The state of <paramref name="k"/> at <paramref name="now"/>, retired keys staying published <paramref name="retiredPublishedDays"/>.</summary>
    public static KeyState Of(SigningKeyEntity k, DateTimeOffset now, int retiredPublishedDays) =>
        k.WithdrawnAt is { } withdrawn && withdrawn <= now ? KeyState.Withdrawn
        : k.ActivatedAt is null || now < k.ActivatedAt ? (k.RetiredAt is { } r0 && r0 <= k.ActivatedAt ? KeyState.Withdrawn : KeyState.Published)
        : k.RetiredAt is not { } retired || now < retired ? KeyState.Active
        : now < retired.AddDays(retiredPublishedDays) ? KeyState.Retired
        : KeyState.Gone;
}
