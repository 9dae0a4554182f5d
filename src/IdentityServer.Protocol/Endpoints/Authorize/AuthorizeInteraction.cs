namespace IdentityServer.Protocol.Endpoints.Authorize;

/// <summary>What the authorization endpoint does next for a valid request.</summary>
public enum InteractionKind
{
    /// <summary>Send the person to the login page.</summary>
    Login,
    /// <summary>Send the person to the consent page.</summary>
    Consent,
    /// <summary>Issue the authorization code.</summary>
    IssueCode,
    /// <summary>Return <see cref="InteractionDecision.Error"/> to the client.</summary>
    Error,
}

/// <summary>The decision and, for <see cref="InteractionKind.Error"/>, the error.</summary>
public sealed record InteractionDecision(InteractionKind Kind, Errors.OAuthError? Error = null);

/// <summary>The signed-in person as the authorization endpoint sees it.</summary>
/// <param name="SubjectId">The <c>sub</c>.</param>
/// <param name="AuthTime">When they authenticated.</param>
/// <param name="Amr">How they authenticated (RFC 8176).</param>
/// <param name="SessionId">The server session id (<c>sid</c>).</param>
public sealed record EndUserSession(string SubjectId, DateTimeOffset AuthTime, IReadOnlyList<string> Amr, string? SessionId);

/// <summary>
/// Decides between login, consent and issuing a code (OpenID Connect Core §3.1.2.3–§3.1.2.4):
/// <list type="number">
/// <item>no session, <c>prompt=login</c>, or <c>max_age</c> exceeded → login; with <c>prompt=none</c> → <c>login_required</c></item>
/// <item>client requires consent and (<c>prompt=consent</c> or some scope not yet consented) → consent; with <c>prompt=none</c> → <c>consent_required</c></item>
/// <item>otherwise issue the code</item>
/// </list>
/// </summary>
public static class AuthorizeInteraction
{
    /// <summary>Applies the rules above. <paramref name="now"/> is compared with <see cref="EndUserSession.AuthTime"/> in whole seconds.</summary>
    public static InteractionDecision Decide(AuthorizeRequest request, EndUserSession? session, IReadOnlySet<string> consentedScopes, DateTimeOffset now)
    {
        var none = request.Prompt.Contains("none");
        var needsLogin = session is null
            || request.Prompt.Contains("login")
            || (request.MaxAge is { } maxAge && (now - session.AuthTime).TotalSeconds > maxAge);
        if (needsLogin)
            return none
                ? new(InteractionKind.Error, Errors.OAuthError.LoginRequired("The end-user must sign in."))
                : new(InteractionKind.Login);

        var needsConsent = request.Client.RequireConsent
            && (request.Prompt.Contains("consent") || request.Scopes.Any(s => !consentedScopes.Contains(s)));
        if (needsConsent)
            return none
                ? new(InteractionKind.Error, Errors.OAuthError.ConsentRequired("The end-user must consent."))
                : new(InteractionKind.Consent);

        return new(InteractionKind.IssueCode);
    }
}
