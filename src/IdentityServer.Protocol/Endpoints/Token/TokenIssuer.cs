using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Grants;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;

namespace IdentityServer.Protocol.Endpoints.Token;

/// <summary>
/// The issuance phase shared by every grant: an access token (recorded by <c>jti</c> so it can be revoked
/// with its grant), an ID token when <c>openid</c> is granted, and a rotated refresh token when
/// <c>offline_access</c> is granted and the client may refresh (OpenID Connect Core §11, RFC 6749 §6).
/// </summary>
public sealed class TokenIssuer(IdentityServerOptions options, TokenFactory factory, IGrantStore grants)
{
    /// <summary>Tokens for an end-user's <paramref name="grant"/>, scoped to <paramref name="scopes"/> (⊆ the grant's scopes).</summary>
    /// <param name="nonce">The authorization request's nonce (code flow only; OpenID Connect Core §3.1.3.6).</param>
    public async Task<TokenResponse> IssueForUserAsync(Client client, GrantRecord grant, IReadOnlyList<string> scopes, string? nonce, DateTimeOffset now, CancellationToken ct)
    {
        var lifetime = client.AccessTokenLifetimeSeconds ?? options.Lifetimes.AccessTokenSeconds;
        var access = await factory.CreateAccessTokenAsync(client.ClientId, grant.SubjectId, scopes, grant.AuthTime, grant.Amr, now, ct, lifetime);
        await grants.StoreAccessTokenAsync(new AccessTokenRecord(access.Jti, grant.Id, client.ClientId, grant.SubjectId, now, access.ExpiresAt), ct);

        string? idToken = null;
        if (scopes.Contains(Grants.Scopes.OpenId))
            idToken = await factory.CreateIdTokenAsync(client.ClientId, grant.SubjectId, grant.AuthTime, grant.Amr, grant.SessionId, nonce, access.Token, now, ct,
                client.IdTokenSignedResponseAlg);

        string? refreshToken = null;
        if (grant.Scopes.Contains(Grants.Scopes.OfflineAccess) && client.AllowsGrantType(GrantTypes.RefreshToken))
        {
            refreshToken = OpaqueToken.Create();
            var sliding = now.AddSeconds(client.RefreshTokenLifetimeSeconds ?? options.Lifetimes.RefreshTokenSlidingSeconds);
            var expires = sliding < grant.ExpiresAt ? sliding : grant.ExpiresAt;
            await grants.StoreRefreshTokenAsync(new RefreshTokenRecord(OpaqueToken.Hash(refreshToken), grant.Id, client.ClientId, now, expires), ct);
        }

        return new TokenResponse
        {
            AccessToken = access.Token,
            ExpiresIn = lifetime,
            Scope = Grants.Scopes.Join(scopes),
            IdToken = idToken,
            RefreshToken = refreshToken,
        };
    }

    /// <summary>An access token for the client itself (client credentials: <c>sub</c> = <c>client_id</c>, no refresh or ID token; RFC 6749 §4.4.3).</summary>
    public async Task<TokenResponse> IssueForClientAsync(Client client, IReadOnlyList<string> scopes, DateTimeOffset now, CancellationToken ct)
    {
        var lifetime = client.AccessTokenLifetimeSeconds ?? options.Lifetimes.AccessTokenSeconds;
        var access = await factory.CreateAccessTokenAsync(client.ClientId, client.ClientId, scopes, null, null, now, ct, lifetime);
        await grants.StoreAccessTokenAsync(new AccessTokenRecord(access.Jti, null, client.ClientId, null, now, access.ExpiresAt), ct);
        return new TokenResponse { AccessToken = access.Token, ExpiresIn = lifetime, Scope = Grants.Scopes.Join(scopes) };
    }
}
