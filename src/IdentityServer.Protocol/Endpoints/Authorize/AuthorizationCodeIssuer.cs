using System.Security.Cryptography;
using IdentityServer.Protocol.Options;
using IdentityServer.Protocol.Stores;
using IdentityServer.Protocol.Tokens;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Protocol.Endpoints.Authorize;

/// <summary>
/// Issues an authorization code for a validated request and a signed-in end-user: creates the grant (token
/// family) and stores the code's SHA-256 hash bound to client, redirect URI, PKCE challenge and nonce.
/// Code: 256 random bits, lifetime <see cref="LifetimeOptions.AuthorizationCodeSeconds"/> (RFC 6749 §4.1.2, RFC 9700 §4.5).
/// </summary>
public sealed class AuthorizationCodeIssuer(IdentityServerOptions options, IGrantStore grants, TimeProvider time)
{
    /// <summary>Returns the code value to send to the client (never stored in clear).</summary>
    public async Task<string> IssueAsync(AuthorizeRequest request, EndUserSession session, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        var grant = new GrantRecord(
            Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16)), session.SubjectId, request.Client.ClientId, request.Scopes,
            session.AuthTime, session.Amr, session.SessionId, now, now.AddSeconds(options.Lifetimes.RefreshTokenAbsoluteSeconds));
        await grants.CreateGrantAsync(grant, ct);

        var code = OpaqueToken.Create();
        await grants.StoreAuthorizationCodeAsync(new AuthorizationCodeRecord(
            OpaqueToken.Hash(code), grant.Id, request.Client.ClientId, request.RedirectUri, request.CodeChallenge,
            request.Nonce, now, now.AddSeconds(options.Lifetimes.AuthorizationCodeSeconds)), ct);
        return code;
    }
}
