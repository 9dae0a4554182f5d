using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol;
using IdentityServer.Options;
using Microsoft.Extensions.Options;

namespace IdentityServer.Hosting;

/// <summary>
/// Refuses a configuration the server cannot run safely with, at start-up, with a message naming the key:
/// issuer not an absolute URL (or with query/fragment), an <c>http</c> issuer outside Development whose host is
/// not loopback (RFC 9700 §2.6 needs TLS), clients with unknown grant types, short secrets, or bad redirect URIs.
/// </summary>
public sealed class IdentityServerOptionsValidator(IHostEnvironment environment) : IValidateOptions<IdentityServerOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, IdentityServerOptions o)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(o.Issuer, UriKind.Absolute, out var issuer) || (issuer.Scheme != "https" && issuer.Scheme != "http")
            || !string.IsNullOrEmpty(issuer.Query) || !string.IsNullOrEmpty(issuer.Fragment))
            errors.Add("IdentityServer:Issuer must be an absolute http(s) URL without query or fragment.");
        else if (issuer.AbsolutePath != "/")
            errors.Add($"IdentityServer:Issuer '{o.Issuer}' has a path; serving under a path prefix is not supported yet: use the host's root.");
        else if (issuer.Scheme == "http" && !environment.IsDevelopment() && !issuer.IsLoopback)
            errors.Add($"IdentityServer:Issuer '{o.Issuer}' uses http; outside Development (in Production, Staging, …) the issuer must be https unless its host is loopback.");

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < o.Users.Count; i++)
        {
            var user = o.Users[i];
            if (string.IsNullOrWhiteSpace(user.UserName)) errors.Add($"IdentityServer:Users:{i}:UserName is required.");
            else if (user.Password.Length < SeedUserOptions.MinimumPasswordLength)
                errors.Add($"IdentityServer:Users:{i} ('{user.UserName}') cannot be created: its Password must be at least {SeedUserOptions.MinimumPasswordLength} characters.");
        }
        for (var i = 0; i < o.Clients.Count; i++)
        {
            var key = $"IdentityServer:Clients:{i}";
            errors.AddRange(ValidateClient(o.Clients[i], key));
            if (o.Clients[i].IdTokenSignedResponseAlg is { } alg && !o.Keys.EffectiveAlgorithms.Contains(alg))
                errors.Add($"{key}:IdTokenSignedResponseAlg '{alg}' is not in IdentityServer:Keys:Algorithms.");
            if (!string.IsNullOrWhiteSpace(o.Clients[i].ClientId) && !ids.Add(o.Clients[i].ClientId))
                errors.Add($"{key}:ClientId '{o.Clients[i].ClientId}' is declared twice.");
        }
        foreach (var s in o.ApiScopes.Where(s => string.IsNullOrWhiteSpace(s.Name) || !Scopes.IsWellFormed(s.Name) || Scopes.Identity.Contains(s.Name) || s.Name == Scopes.Admin))
            errors.Add($"IdentityServer:ApiScopes has an invalid or reserved name '{s.Name}'.");
        if (o.Lifetimes.AuthorizationCodeSeconds is <= 0 or > 60) errors.Add("IdentityServer:Lifetimes:AuthorizationCodeSeconds must be 1..60 (RFC 9700 §4.5: codes are short-lived).");
        if (o.Lifetimes.AccessTokenSeconds <= 0) errors.Add("IdentityServer:Lifetimes:AccessTokenSeconds must be positive.");
        if (o.Lifetimes.RefreshTokenSlidingSeconds <= 0 || o.Lifetimes.RefreshTokenAbsoluteSeconds < o.Lifetimes.RefreshTokenSlidingSeconds)
            errors.Add("IdentityServer:Lifetimes: refresh token lifetimes must be positive and absolute ≥ sliding.");
        errors.AddRange(ValidatePasskeys(o));

        if (o.Cache.ClientSeconds is < 0 or > 300)
            errors.Add("IdentityServer:Cache:ClientSeconds must be 0..300.");
        if (o.ClientAuthentication.FailuresPerClient < 1 || o.ClientAuthentication.FailuresPerAddress < 1 || o.ClientAuthentication.WindowSeconds is < 1 or > 86400)
            errors.Add("IdentityServer:ClientAuthentication: FailuresPerClient and FailuresPerAddress must be at least 1, WindowSeconds 1..86400.");
        if (!string.IsNullOrWhiteSpace(o.Metrics.BearerToken) && o.Metrics.BearerToken.Trim().Length < 32)
            errors.Add("IdentityServer:Metrics:BearerToken must be at least 32 characters (or unset for loopback-only scraping).");
        if (o.Hsts.MaxAgeSeconds < 0) errors.Add("IdentityServer:Hsts:MaxAgeSeconds must be 0 or more.");
        if (o.Cleanup.IntervalSeconds < 60 || o.Cleanup.RetentionSeconds < 0 || o.Cleanup.BatchSize is < 1 or > 10_000)
            errors.Add("IdentityServer:Cleanup: IntervalSeconds must be at least 60, RetentionSeconds at least 0, BatchSize 1..10000.");

        foreach (var alg in o.Keys.Algorithms.Where(a => a is not ("RS256" or "PS256" or "ES256")))
            errors.Add($"IdentityServer:Keys:Algorithms has '{alg}'; supported are RS256, PS256, ES256.");
        var longestSignedSeconds = Math.Max(ClientOptions.MaxAccessTokenLifetimeSeconds, Math.Max(o.Lifetimes.AccessTokenSeconds, o.Lifetimes.IdTokenSeconds));
        if (o.Keys.RetiredPublishedDays * 86400L < longestSignedSeconds + 3600)
            errors.Add("IdentityServer:Keys:RetiredPublishedDays must outlast the longest-lived signed token (access and ID token lifetimes, per-client up to 1 day) by an hour.");
        if (o.Keys.PublishLeadDays < 0 || o.Keys.RotationDays <= o.Keys.PublishLeadDays || o.Keys.RetiredPublishedDays < 2)
            errors.Add("IdentityServer:Keys: RotationDays must exceed PublishLeadDays (≥ 0), and RetiredPublishedDays must be at least 2 (longer than any token).");

        var device = o.DeviceFlow;
        if (device.DeviceCodeLifetimeSeconds is < 60 or > 1800) errors.Add("IdentityServer:DeviceFlow:DeviceCodeLifetimeSeconds must be 60..1800.");
        if (device.PollingIntervalSeconds is < 1 or > 60) errors.Add("IdentityServer:DeviceFlow:PollingIntervalSeconds must be 1..60.");
        if (device.UserCodeAttemptsPerAddress < 1 || device.UserCodeAttemptsPerSession < 1 || device.UserCodeAttemptWindowSeconds is < 1 or > 86400)
            errors.Add("IdentityServer:DeviceFlow: the user code attempt limits must be positive and their window 1..86400 seconds.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>
    /// WebAuthn's rules for the relying party (WebAuthn Level 3 §5.1.2, §13.4.9): each allowed origin is an absolute http(s) origin
    /// (no path), and the RP ID (<c>Passkeys:ServerDomain</c>) is that origin's host or a parent domain of it, and not an IP address.
    /// </summary>
    private static IEnumerable<string> ValidatePasskeys(IdentityServerOptions o)
    {
        // Derived from the issuer alone, nothing can be wrong: an IP-address issuer simply has no passkeys (see PasskeyOptions.IsAvailable).
        if (!Uri.TryCreate(o.Issuer, UriKind.Absolute, out _) || (string.IsNullOrWhiteSpace(o.Passkeys.ServerDomain) && o.Passkeys.AllowedOrigins.Count == 0))
            yield break;
        var rpId = o.Passkeys.EffectiveServerDomain(o.Issuer).ToLowerInvariant();
        foreach (var origin in o.Passkeys.EffectiveOrigins(o.Issuer))
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http") || u.AbsolutePath != "/" || !string.IsNullOrEmpty(u.Query))
                yield return $"IdentityServer:Passkeys:AllowedOrigins has '{origin}', which is not an http(s) origin (scheme, host, optional port).";
            else if (u.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6)
                yield return $"IdentityServer:Passkeys: the origin '{origin}' is an IP address; WebAuthn needs a domain name (use localhost for development).";
            else if (u.Host != rpId && !u.Host.EndsWith("." + rpId, StringComparison.Ordinal))
                yield return $"IdentityServer:Passkeys:ServerDomain '{rpId}' must be the host of '{origin}' or a parent domain of it.";
        }
    }

    /// <summary>
    /// The problems with one client definition, each prefixed with <paramref name="key"/>: missing id, secret shorter
    /// than <see cref="ClientSecrets.MinimumSecretLength"/>, unknown grant type, a redirect URI that is relative,
    /// has a fragment (RFC 6749 §3.1.2) or uses a <c>javascript:</c>/<c>data:</c> scheme, client_credentials without a secret.
    /// </summary>
    public static IEnumerable<string> ValidateClient(ClientOptions c, string key)
    {
        if (string.IsNullOrWhiteSpace(c.ClientId)) yield return $"{key}:ClientId is required.";
        else if (c.ClientId.Length > 100 || c.ClientId.Any(ch => ch < 0x20 || ch > 0x7E)) yield return $"{key}:ClientId must be 1-100 printable ASCII characters.";
        if (c.ClientSecret is { Length: < ClientSecrets.MinimumSecretLength })
            yield return $"{key}:ClientSecret must be at least {ClientSecrets.MinimumSecretLength} characters.";
        foreach (var g in c.GrantTypes.Where(g => !SupportedGrantTypes.All.Contains(g)))
            yield return $"{key}:GrantTypes has the unsupported value '{g}'.";
        foreach (var uri in c.RedirectUris.Concat(c.PostLogoutRedirectUris))
            if (!Uri.TryCreate(uri, UriKind.Absolute, out var u) || !string.IsNullOrEmpty(u.Fragment) || u.Scheme is "javascript" or "data" or "vbscript" or "file")
                yield return $"{key}: redirect URI '{uri}' must be absolute, without a fragment, and not a script or data URI.";
        if (c.BackChannelLogoutUri is { } bcl && (!Uri.TryCreate(bcl, UriKind.Absolute, out var bu) || bu.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(bu.Fragment)))
            yield return $"{key}:BackChannelLogoutUri must be an absolute http(s) URL without a fragment.";
        if (c.AccessTokenLifetimeSeconds is < 60 or > ClientOptions.MaxAccessTokenLifetimeSeconds)
            yield return $"{key}:AccessTokenLifetimeSeconds must be 60..{ClientOptions.MaxAccessTokenLifetimeSeconds}.";
        if (c.RefreshTokenLifetimeSeconds is < 300 or > 365 * 24 * 3600)
            yield return $"{key}:RefreshTokenLifetimeSeconds must be 300..31536000 (and is capped by the absolute lifetime).";
        if (c.GrantTypes.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.ClientCredentials) && c.ClientSecret is null)
            yield return $"{key}: client_credentials needs a ClientSecret (confidential client).";
        if (c.GrantTypes.Contains(OpenIddict.Abstractions.OpenIddictConstants.GrantTypes.AuthorizationCode) && c.RedirectUris.Count == 0)
            yield return $"{key}: authorization_code needs at least one redirect URI.";
    }
}
