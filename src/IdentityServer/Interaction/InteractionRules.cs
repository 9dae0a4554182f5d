using IdentityServer.Protocol;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Interaction;

/// <summary>What the authorization endpoint does next for a request OpenIddict found valid.</summary>
public enum InteractionKind
{
    /// <summary>Send the person to the login page.</summary>
    Login,
    /// <summary>Send the person to the consent page.</summary>
    Consent,
    /// <summary>Issue the authorization code.</summary>
    IssueCode,
    /// <summary>Answer the client with <see cref="InteractionDecision.Error"/>.</summary>
    Error,
}

/// <summary>The decision and, for <see cref="InteractionKind.Error"/>, the error.</summary>
public sealed record InteractionDecision(InteractionKind Kind, ProtocolError? Error = null);

/// <summary>The signed-in person as the authorization endpoint sees it.</summary>
/// <param name="SubjectId">The <c>sub</c>.</param>
/// <param name="AuthTime">When they authenticated (full precision; tokens carry it in whole seconds).</param>
/// <param name="Amr">How they authenticated (RFC 8176).</param>
/// <param name="SessionId">The server session id (<c>sid</c>).</param>
public sealed record EndUserSession(string SubjectId, DateTimeOffset AuthTime, IReadOnlyList<string> Amr, string? SessionId)
{
    /// <summary>True when the session used a second factor or a passkey (<c>amr</c> has <c>mfa</c>, RFC 8176 §2).</summary>
    public bool HasMfa => Amr.Contains(ProtocolNames.Mfa);
}

/// <summary>What of an authorization request the interaction rules look at.</summary>
/// <param name="Prompt">The <c>prompt</c> values (OpenID Connect Core §3.1.2.1).</param>
/// <param name="MaxAge">The <c>max_age</c>, seconds, when given.</param>
/// <param name="Scopes">The requested scopes.</param>
/// <param name="RequireConsent">The client asks its users for consent.</param>
/// <param name="RequireMfa">The client accepts only sessions with a second factor or a passkey.</param>
public sealed record InteractionRequest(IReadOnlySet<string> Prompt, long? MaxAge, IReadOnlyList<string> Scopes, bool RequireConsent, bool RequireMfa);

/// <summary>
/// Decides between login, consent and issuing a code (OpenID Connect Core §3.1.2.3–§3.1.2.4). A pure function of the request,
/// the session and the clock:
/// <list type="number">
/// <item>no session → login. Unless the person signed in after this request asked for it (<c>reauthenticatedSince</c>):
/// <c>prompt=login</c> or <c>select_account</c>, or <c>max_age</c> exceeded → login. With <c>prompt=none</c> → <c>login_required</c></item>
/// <item>a client that requires multi-factor authentication and a session without <c>mfa</c> in its <c>amr</c> (RFC 8176) → login, to step
/// up; with <c>prompt=none</c> → <c>login_required</c>. If the person has just signed in again and still has no second factor →
/// <c>access_denied</c> (they have none to offer)</item>
/// <item>unless consent was just given for this request: <c>prompt=consent</c>, or a client that requires consent with a scope not yet
/// consented → consent. With <c>prompt=none</c> → <c>consent_required</c></item>
/// <item>otherwise issue the code</item>
/// </list>
/// </summary>
public static class InteractionRules
{
    /// <summary>Applies the rules above; <c>max_age</c> is compared in whole seconds against <paramref name="now"/>.</summary>
    /// <param name="reauthenticatedSince">When the endpoint last sent this request to the login page; a session that authenticated after it satisfies <c>prompt=login</c> and <c>max_age</c>.</param>
    /// <param name="consentGiven">True when the person consented on the consent page for this very request.</param>
    public static InteractionDecision Decide(InteractionRequest request, EndUserSession? session, IReadOnlySet<string> consentedScopes,
        DateTimeOffset now, DateTimeOffset? reauthenticatedSince = null, bool consentGiven = false)
    {
        var none = request.Prompt.Contains(PromptValues.None);
        var fresh = session is not null && reauthenticatedSince is { } since && session.AuthTime > since;
        var needsLogin = session is null
            || (!fresh && (request.Prompt.Contains(PromptValues.Login) || request.Prompt.Contains(PromptValues.SelectAccount)
                || (request.MaxAge is { } maxAge && (long)(now - session.AuthTime).TotalSeconds > maxAge)));
        if (needsLogin)
            return none ? new(InteractionKind.Error, new(Errors.LoginRequired, "The end-user must sign in.")) : new(InteractionKind.Login);

        if (request.RequireMfa && !session!.HasMfa)
            return fresh ? new(InteractionKind.Error, new(Errors.AccessDenied, "The client requires multi-factor authentication, which the end-user did not complete."))
                : none ? new(InteractionKind.Error, new(Errors.LoginRequired, "The client requires multi-factor authentication."))
                : new(InteractionKind.Login);

        var needsConsent = !consentGiven
            && (request.Prompt.Contains(PromptValues.Consent) || (request.RequireConsent && request.Scopes.Any(s => !consentedScopes.Contains(s))));
        if (needsConsent)
            return none ? new(InteractionKind.Error, new(Errors.ConsentRequired, "The end-user must consent.")) : new(InteractionKind.Consent);

        return new(InteractionKind.IssueCode);
    }
}
