using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using AngleSharp.Html.Parser;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static IdentityServer.Tests.Infrastructure.IdentityServerFactory;

namespace IdentityServer.Tests.Conformance.Lifecycle;

/// <summary>A server whose web client (ES256 ID tokens) registers a back-channel logout URI served by a real listener on a loopback port.</summary>
public sealed class BackChannelFactory : IdentityServerFactory
{
    private readonly HttpListener _listener = new();

    /// <summary>Every form body POSTed to the listener.</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    public BackChannelFactory()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var prefix = $"http://127.0.0.1:{port}/bcl/";
        _listener.Prefixes.Add(prefix);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); } catch (Exception) { return; }
                using (var reader = new StreamReader(context.Request.InputStream)) Received.Enqueue(await reader.ReadToEndAsync());
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
        });
        Settings["IdentityServer:Clients:0:BackChannelLogoutUri"] = prefix;
        // The web client's ID tokens, and so its logout tokens (Back-Channel Logout §2.4), use ES256 here.
        Settings["IdentityServer:Keys:Algorithms:0"] = "RS256";
        Settings["IdentityServer:Keys:Algorithms:1"] = "ES256";
        Settings["IdentityServer:Clients:0:IdTokenSignedResponseAlg"] = "ES256";
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _listener.Close();
        base.Dispose(disposing);
    }
}

/// <summary>OpenID Connect RP-Initiated Logout 1.0 and Back-Channel Logout 1.0.</summary>
public sealed class EndSessionTests(BackChannelFactory factory) : IClassFixture<BackChannelFactory>
{
    private static string EndSessionUrl(Dictionary<string, string?> p) => QueryHelpers.AddQueryString("/connect/endsession", p.Where(kv => kv.Value is not null)!);

    private async Task<(OidcDriver Driver, string IdToken)> SignedInAsync()
    {
        var d = new OidcDriver(factory.CreateBrowser());
        var tokens = await d.SignInAndGetTokensAsync("openid profile");
        return (d, tokens.Str("id_token"));
    }

    private static async Task AssertSignedOutAsync(OidcDriver d) =>
        Assert.Equal(HttpStatusCode.Redirect, (await d.Http.GetAsync("/account")).StatusCode);

    private static async Task AssertSignedInAsync(OidcDriver d) =>
        Assert.Equal(HttpStatusCode.OK, (await d.Http.GetAsync("/account")).StatusCode);

    [Fact]
    public async Task IdTokenHint_RegisteredUri_State_SignsOutAndRedirects_WithABackChannelLogoutToken()
    {
        var (d, idToken) = await SignedInAsync();
        var before = factory.Received.Count;
        var r = await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = idToken, ["post_logout_redirect_uri"] = WebPostLogout, ["state"] = "st-1" }));
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.Equal(WebPostLogout + "?state=st-1", r.Headers.Location!.OriginalString);
        await AssertSignedOutAsync(d);

        // The web client's back-channel endpoint got a logout token for this session.
        Assert.Equal(before + 1, factory.Received.Count);
        var form = QueryHelpers.ParseQuery(factory.Received.Last());
        var logoutToken = await Tokens.ValidateAsync(form["logout_token"].ToString(), await Tokens.JwksAsync(d.Http), "logout+jwt");
        var id = new JsonWebToken(idToken);
        Assert.Equal(IdentityServerFactory.WebClient, logoutToken.Audiences.Single());
        Assert.Equal("ES256", logoutToken.Alg);
        Assert.Equal("ES256", new JsonWebToken(idToken).Alg);
        Assert.Equal(id.Subject, logoutToken.Subject);
        Assert.Equal(id.GetClaim("sid").Value, logoutToken.GetClaim("sid").Value);
        Assert.Contains("http://schemas.openid.net/event/backchannel-logout", logoutToken.GetClaim("events").Value);
        Assert.False(logoutToken.TryGetClaim("nonce", out _));
        Assert.False(string.IsNullOrEmpty(logoutToken.Id));
    }

    [Fact]
    public async Task SignInsTokensAndAuthorizationCleanedUp_TheClientIsStillNotified()
    {
        // Back-channel logout goes to the clients the session signed in to, as recorded at sign-in, not to whoever still holds a grant
        // (issue 11): here every token row and authorization of the sign-in is gone, as the cleanup removes them over time.
        var (d, idToken) = await SignedInAsync();
        using (var scope = factory.Services.CreateScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<IdentityServer.Data.IdentityServerDbContext>();
            await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreToken>().ExecuteDeleteAsync();
            await db.Set<OpenIddict.EntityFrameworkCore.Models.OpenIddictEntityFrameworkCoreAuthorization>().Where(a => a.Type == "ad-hoc").ExecuteDeleteAsync();
        }
        var before = factory.Received.Count;
        var r = await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = idToken, ["post_logout_redirect_uri"] = WebPostLogout }));
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        Assert.Equal(before + 1, factory.Received.Count);
        var logoutToken = new JsonWebToken(QueryHelpers.ParseQuery(factory.Received.Last())["logout_token"].ToString());
        Assert.Equal(new JsonWebToken(idToken).GetClaim("sid").Value, logoutToken.GetClaim("sid").Value);
    }

    [Theory]
    [InlineData("https://evil.example/", true)]   // not registered
    [InlineData(WebPostLogout, false)]             // registered, but no hint or client_id says whose it is
    public async Task UnverifiedPostLogoutUri_ErrorPage_NoRedirect_SessionKept(string uri, bool withHint)
    {
        var (d, idToken) = await SignedInAsync();
        var r = await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = withHint ? idToken : null, ["post_logout_redirect_uri"] = uri }));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Null(r.Headers.Location);
        await AssertSignedInAsync(d);
    }

    [Fact]
    public async Task ClientIdNotTheHintsAudience_OrAnAccessTokenAsHint_ErrorPage()
    {
        var (d, idToken) = await SignedInAsync();
        Assert.Equal(HttpStatusCode.BadRequest, (await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = idToken, ["client_id"] = OtherClient }))).StatusCode);
        var access = (await d.SignInAndGetTokensAsync("openid")).Str("access_token");
        Assert.Equal(HttpStatusCode.BadRequest, (await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = access }))).StatusCode);
        await AssertSignedInAsync(d);
    }

    [Fact]
    public async Task WithoutHint_AskedToConfirm_ThenSignedOutAndRedirected()
    {
        var (d, _) = await SignedInAsync();
        var page = await d.Http.GetAsync(EndSessionUrl(new() { ["client_id"] = IdentityServerFactory.WebClient, ["post_logout_redirect_uri"] = WebPostLogout, ["state"] = "st-2" }));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        await AssertSignedInAsync(d); // nothing happened yet
        var doc = new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync());
        var form = doc.QuerySelector("form[action='/connect/endsession/confirm']")!;
        var confirmed = await d.Http.PostAsync("/connect/endsession/confirm", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["ticket"] = form.QuerySelector("input[name=ticket]")!.GetAttribute("value")!,
            ["__RequestVerificationToken"] = form.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!,
        }));
        Assert.Equal(WebPostLogout + "?state=st-2", confirmed.Headers.Location!.OriginalString);
        await AssertSignedOutAsync(d);
    }

    [Fact]
    public async Task HintFromAnotherSessionOfTheSamePerson_AskedToConfirm()
    {
        var (_, otherSessionIdToken) = await SignedInAsync();
        var (d, _) = await SignedInAsync();
        var r = await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = otherSessionIdToken, ["post_logout_redirect_uri"] = WebPostLogout }));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.NotNull(new HtmlParser().ParseDocument(await r.Content.ReadAsStringAsync()).QuerySelector("form[action='/connect/endsession/confirm']"));
        await AssertSignedInAsync(d);
    }

    [Fact]
    public async Task ConfirmationWithoutAntiforgery_Refused()
    {
        var (d, _) = await SignedInAsync();
        var r = await d.Http.PostAsync("/connect/endsession/confirm", new FormUrlEncodedContent(new Dictionary<string, string> { ["ticket"] = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        await AssertSignedInAsync(d);
    }

    [Fact]
    public async Task NoSession_ValidRequest_RedirectsAtOnce_AfterwardsSignInIsNeeded()
    {
        var (d, idToken) = await SignedInAsync();
        await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = idToken }));
        await AssertSignedOutAsync(d);
        var again = await d.Http.GetAsync(EndSessionUrl(new() { ["id_token_hint"] = idToken, ["post_logout_redirect_uri"] = WebPostLogout }));
        Assert.Equal(WebPostLogout, again.Headers.Location!.OriginalString);

        var verifier = OidcDriver.NewVerifier();
        var authorize = await d.AuthorizeAsync(OidcDriver.AuthorizeParameters(verifier));
        Assert.StartsWith("/account/login", authorize.Headers.Location!.OriginalString);
    }
}
