using System.Collections.Immutable;
using IdentityServer.Account;
using IdentityServer.Options;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Clients;
using IdentityServer.Protocol.Endpoints;
using IdentityServer.Protocol.Handlers;
using Microsoft.AspNetCore.WebUtilities;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace IdentityServer.Interaction;

/// <summary>
/// An authorization request as the sign-in and consent pages see it, resolved from their return URL by
/// <see cref="InteractionService.GetAuthorizationContextAsync"/>.
/// </summary>
/// <param name="Client">The client, known and enabled.</param>
/// <param name="RedirectUri">The request's <c>redirect_uri</c>, registered for the client.</param>
/// <param name="ResponseMode"><c>query</c> or <c>form_post</c>.</param>
/// <param name="State">The request's <c>state</c>, echoed to the client.</param>
/// <param name="Scopes">The requested scopes, each known and allowed for the client.</param>
/// <param name="LoginHint">The request's <c>login_hint</c>, for the user-name field.</param>
/// <param name="CodeChallenge">The request's <c>code_challenge</c>, which tickets are bound to.</param>
/// <param name="ReturnUrl">The local URL that repeats the request.</param>
public sealed record AuthorizationContext(ClientProfile Client, string RedirectUri, string ResponseMode, string? State,
    IReadOnlyList<string> Scopes, string? LoginHint, string CodeChallenge, string ReturnUrl);

/// <summary>
/// The one service between the pages and the authorization endpoint, as IdentityServer4's <c>IIdentityServerInteractionService</c> is:
/// the endpoint asks it what a request needs (<see cref="DecideAsync"/>) and where to send the person (<see cref="LoginUrl"/>,
/// <see cref="ConsentUrl"/>); the pages ask it what request they serve (<see cref="GetAuthorizationContextAsync"/>) and hand it the
/// person's decision (<see cref="GrantConsentAsync"/>, <see cref="DenyConsentAsync"/>). Pages never parse return URLs themselves.
/// The sealed tickets that prove a login or consent happened for a given request are made and checked here.
/// Remembered consent is an OpenIddict authorization of type <c>permanent</c> per end-user and client, holding the scopes consented
/// to; it never carries tokens (each sign-in gets an ad-hoc authorization of its own), so revoking a token family keeps the consent.
/// </summary>
public sealed class InteractionService(ClientApplicationManager clients, IOpenIddictAuthorizationManager authorizations,
    InteractionTickets tickets, ScopeCatalog catalog, IdentityServerOptions options, TimeProvider time, ILogger<InteractionService> logger)
{
    /// <summary>Path of the authorization endpoint, the only return URL the pages accept.</summary>
    public const string AuthorizePath = "/connect/authorize";

    /// <summary>
    /// What the authorization endpoint does with <paramref name="request"/> (OpenIddict found it valid) for <paramref name="session"/>
    /// (null when nobody is signed in): the rules of <see cref="InteractionRules"/> with the client's settings, the remembered consent
    /// and this request's tickets.
    /// </summary>
    public async Task<InteractionDecision> DecideAsync(OpenIddictRequest request, ClientProfile client, EndUserSession? session, CancellationToken ct)
    {
        var challenge = request.CodeChallenge ?? "";
        var consented = session is null ? new HashSet<string>() : await ConsentedScopesAsync(session.SubjectId, client.ClientId, ct);
        var reauthenticatedSince = tickets.IssuedAt((string?)request[InteractionTickets.LoginParameter], InteractionTickets.LoginKind, challenge);
        var consentGiven = session is not null
            && tickets.IssuedAt((string?)request[InteractionTickets.ConsentParameter], InteractionTickets.ConsentKind, ConsentBinding(challenge, session.SubjectId)) is not null;
        var rules = new InteractionRequest(request.GetPromptValues().ToHashSet(StringComparer.Ordinal), request.MaxAge,
            request.GetScopes(), client.RequireConsent, client.RequireMfa);
        return InteractionRules.Decide(rules, session, consented, time.GetUtcNow(), reauthenticatedSince, consentGiven);
    }

    /// <summary>The login page, to return to this request afterwards with a fresh login ticket (so <c>prompt=login</c> and <c>max_age</c> are met once).</summary>
    public string LoginUrl(OpenIddictRequest request) =>
        QueryHelpers.AddQueryString("/account/login", "ReturnUrl",
            ReturnUrl(request, (InteractionTickets.LoginParameter, tickets.Issue(InteractionTickets.LoginKind, request.CodeChallenge ?? ""))));

    /// <summary>The consent page for this request.</summary>
    public string ConsentUrl(OpenIddictRequest request) => QueryHelpers.AddQueryString("/consent", "ReturnUrl", ReturnUrl(request));

    /// <summary>A local URL that repeats <paramref name="request"/> as a GET, with <paramref name="set"/> added or replaced.</summary>
    public static string ReturnUrl(OpenIddictRequest request, (string Name, string Value)? set = null)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in request.GetParameters()) values[name] = (string?)value;
        if (set is { } s) values[s.Name] = s.Value;
        return QueryHelpers.AddQueryString(AuthorizePath, values);
    }

    /// <summary>
    /// The authorization request behind <paramref name="returnUrl"/>, or null with the problem (a sentence for the page): the URL must be the
    /// local authorization endpoint; the client known and enabled; the <c>redirect_uri</c> registered (exact match); the response mode
    /// <c>query</c> or <c>form_post</c>; the scopes known and allowed. (The endpoint validates the whole request again when the person
    /// returns to it; this only decides what the pages may show and do.)
    /// </summary>
    public async Task<(AuthorizationContext? Context, string? Problem)> GetAuthorizationContextAsync(string? returnUrl, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(returnUrl) || !returnUrl.StartsWith(AuthorizePath + "?", StringComparison.Ordinal))
            return (null, "The request is missing or malformed. Start again from the application.");
        var query = QueryHelpers.ParseQuery(returnUrl[AuthorizePath.Length..]);
        if (RequestParameterRules.Check(query.Select(p => (p.Key, p.Value.Count, (string?)p.Value.ToString()))) is { } problem) return (null, problem);
        string? Get(string name) => query.TryGetValue(name, out var v) && !string.IsNullOrEmpty(v) ? v.ToString() : null;

        if (Get(Parameters.ClientId) is not { } clientId || await clients.FindByClientIdAsync(clientId, ct) is not { } application)
            return (null, AuthorizationErrors.UnknownClient);
        var redirectUri = Get(Parameters.RedirectUri);
        if (redirectUri is null || !await clients.ValidateRedirectUriAsync(application, redirectUri, ct))
            return (null, AuthorizationErrors.UnregisteredRedirectUri);
        var responseMode = Get(Parameters.ResponseMode) ?? ResponseModes.Query;
        if (responseMode is not (ResponseModes.Query or ResponseModes.FormPost))
            return (null, AuthorizationErrors.UnsupportedResponseMode);
        var client = await clients.GetProfileAsync(application, ct);
        var scopes = Protocol.Scopes.Parse(Get(Parameters.Scope));
        if (catalog.CheckEndUserScopes(scopes, client.Scopes.ToHashSet(StringComparer.Ordinal)) is { } error) return (null, error.Description);
        return (new AuthorizationContext(client, redirectUri, responseMode, Get(Parameters.State), scopes, Get(Parameters.LoginHint),
            Get(Parameters.CodeChallenge) ?? "", returnUrl), null);
    }

    /// <summary>
    /// Remembers that <paramref name="subjectId"/> consents to the scopes of <paramref name="context"/> for its client (added to what they
    /// consented to before) and returns the URL that resumes the request with a consent ticket for this request and person.
    /// </summary>
    public async Task<string> GrantConsentAsync(AuthorizationContext context, string subjectId, CancellationToken ct)
    {
        var application = await clients.FindByClientIdAsync(context.Client.ClientId, ct)
            ?? throw new InvalidOperationException("The client disappeared while the person was on the consent page.");
        var applicationId = await clients.GetIdAsync(application, ct);
        var existing = new List<object>();
        await foreach (var a in authorizations.FindAsync(subjectId, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, null, ct)) existing.Add(a);
        var scopes = context.Scopes.ToHashSet(StringComparer.Ordinal);
        foreach (var a in existing) scopes.UnionWith(await authorizations.GetScopesAsync(a, ct));
        var descriptor = new OpenIddictAuthorizationDescriptor
        {
            ApplicationId = applicationId, Subject = subjectId, Type = AuthorizationTypes.Permanent, Status = Statuses.Valid,
            CreationDate = time.GetUtcNow(),
        };
        descriptor.Scopes.UnionWith(scopes);
        await authorizations.CreateAsync(descriptor, ct);
        // One remembered consent per person and client: the new one holds the union, the older ones go.
        foreach (var a in existing)
        {
            try { await authorizations.DeleteAsync(a, ct); }
            catch (Exception e) when (e is OpenIddictExceptions.ConcurrencyException or Microsoft.EntityFrameworkCore.DbUpdateException
                                        || e.InnerException is Microsoft.EntityFrameworkCore.DbUpdateException)
            {
                // A parallel consent (a double click) removed or is removing it: as a concurrency conflict, or, on PostgreSQL, as a
                // serialization failure of OpenIddict's repeatable-read transaction. Either way the new authorization holds the union.
                logger.LogInformation("An older consent of {SubjectId} for {ClientId} was already being replaced", subjectId, context.Client.ClientId);
            }
        }
        logger.LogInformation("Consent given by {SubjectId} to {ClientId}", subjectId, context.Client.ClientId);
        var ticket = tickets.Issue(InteractionTickets.ConsentKind, ConsentBinding(context.CodeChallenge, subjectId));
        return WithParameter(context.ReturnUrl, InteractionTickets.ConsentParameter, ticket);
    }

    /// <summary><paramref name="returnUrl"/> with <paramref name="name"/> set to <paramref name="value"/>, replacing any value it had.</summary>
    private static string WithParameter(string returnUrl, string name, string value)
    {
        var start = returnUrl.IndexOf('?');
        var path = start < 0 ? returnUrl : returnUrl[..start];
        var kept = start < 0 ? [] : QueryHelpers.ParseQuery(returnUrl[start..]).Where(p => p.Key != name)
            .SelectMany(p => p.Value.Select(v => KeyValuePair.Create(p.Key, v)));
        return QueryHelpers.AddQueryString(path, kept.Append(KeyValuePair.Create(name, (string?)value)));
    }

    /// <summary>Answers the client of <paramref name="context"/> with <c>access_denied</c> (RFC 6749 §4.1.2.1) at its verified redirect URI, with <c>state</c> and <c>iss</c>.</summary>
    public async Task DenyConsentAsync(HttpContext http, AuthorizationContext context, string subjectId)
    {
        logger.LogInformation("Consent denied by {SubjectId} to {ClientId}", subjectId, context.Client.ClientId);
        await AuthorizationResponseWriter.WriteAsync(http, context.RedirectUri, context.ResponseMode, new Dictionary<string, string?>
        {
            [Parameters.Error] = Errors.AccessDenied, [Parameters.ErrorDescription] = "The end-user denied the request.",
            [Parameters.State] = context.State, [Parameters.Iss] = options.Issuer,
        });
    }

    /// <summary>The scopes <paramref name="subjectId"/> consented to for the client <paramref name="clientId"/>; empty when none.</summary>
    public async Task<IReadOnlySet<string>> ConsentedScopesAsync(string subjectId, string clientId, CancellationToken ct)
    {
        var scopes = new HashSet<string>(StringComparer.Ordinal);
        if (await clients.FindByClientIdAsync(clientId, ct) is not { } application) return scopes;
        await foreach (var a in authorizations.FindAsync(subjectId, await clients.GetIdAsync(application, ct), Statuses.Valid, AuthorizationTypes.Permanent, null, ct))
            scopes.UnionWith(await authorizations.GetScopesAsync(a, ct));
        return scopes;
    }

    /// <summary>What a consent ticket is bound to: this request (its PKCE challenge) and this person.</summary>
    private static string ConsentBinding(string codeChallenge, string subjectId) => codeChallenge + "|" + subjectId;
}
