using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using Npgsql;
using Xunit.Abstractions;

namespace IdentityServer.Tests.Operations;

/// <summary>
/// Two real server processes on one PostgreSQL behind HAProxy (<c>scripts/cluster.sh</c>): what one node does, the other sees at once
/// (or, for a client an admin changed, within the client cache's stated bound).
/// Requests go to a node of the test's choosing, as the proxy would send them (over its loopback leg, <c>X-Forwarded-Proto: https</c>),
/// so each step can be split between the nodes on purpose; the proxy itself is checked once end to end over TLS.
/// </summary>
public sealed class MultiNodeTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Web = "web";
    private const string WebSecret = "web-secret-0123456789-0123456789-0123456789";
    private const string Redirect = "https://app.example/cb";
    private const string Service = "svc";
    private const string ServiceSecret = "svc-secret-0123456789-0123456789-0123456789";
    private const string Guessed = "guessed";
    private const string GuessedSecret = "guessed-secret-0123456789-0123456789-012345";
    private const string Admin = "admin-automation";
    private const string AdminSecret = "admin-automation-secret-0123456789-0123456789";
    private const string Password = "alice-password-1234";
    private const int ClientFailureLimit = 4;
    private const int UserCodeLimit = 4;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"idsrv-cluster-{Guid.NewGuid():N}");
    private readonly CookieJar _jar = new();
    private Dictionary<string, string> _env = new();
    private HttpClient[] _nodes = [];

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["IdentityServer__ApiScopes__0__Name"] = "api1",
        ["IdentityServer__ApiScopes__0__Audience"] = "https://api.example",
        ["IdentityServer__Clients__0__ClientId"] = Web,
        ["IdentityServer__Clients__0__ClientSecret"] = WebSecret,
        ["IdentityServer__Clients__0__RedirectUris__0"] = Redirect,
        ["IdentityServer__Clients__0__GrantTypes__0"] = "authorization_code",
        ["IdentityServer__Clients__0__GrantTypes__1"] = "refresh_token",
        ["IdentityServer__Clients__0__Scopes__0"] = "openid",
        ["IdentityServer__Clients__0__Scopes__1"] = "offline_access",
        ["IdentityServer__Clients__0__Scopes__2"] = "api1",
        ["IdentityServer__Clients__0__RequireConsent"] = "false",
        ["IdentityServer__Clients__1__ClientId"] = Service,
        ["IdentityServer__Clients__1__ClientSecret"] = ServiceSecret,
        ["IdentityServer__Clients__1__GrantTypes__0"] = "client_credentials",
        ["IdentityServer__Clients__1__Scopes__0"] = "api1",
        ["IdentityServer__Clients__2__ClientId"] = Guessed,
        ["IdentityServer__Clients__2__ClientSecret"] = GuessedSecret,
        ["IdentityServer__Clients__2__GrantTypes__0"] = "client_credentials",
        ["IdentityServer__Clients__2__Scopes__0"] = "api1",
        ["IdentityServer__Clients__3__ClientId"] = Admin,
        ["IdentityServer__Clients__3__ClientSecret"] = AdminSecret,
        ["IdentityServer__Clients__3__GrantTypes__0"] = "client_credentials",
        ["IdentityServer__Clients__3__Scopes__0"] = "idp.admin",
        ["IdentityServer__Users__0__UserName"] = "alice",
        ["IdentityServer__Users__0__Password"] = Password,
        ["IdentityServer__Users__1__UserName"] = "bob",
        ["IdentityServer__Users__1__Password"] = Password,
        ["IdentityServer__ClientAuthentication__FailuresPerClient"] = ClientFailureLimit.ToString(),
        ["IdentityServer__ClientAuthentication__FailuresPerAddress"] = "1000",
        ["IdentityServer__DeviceFlow__UserCodeAttemptsPerAddress"] = UserCodeLimit.ToString(),
        ["IdentityServer__DeviceFlow__UserCodeAttemptsPerSession"] = "1000",
        ["IdentityServer__Cleanup__IntervalSeconds"] = "3600",
        ["Logging__LogLevel__Default"] = "Warning",
        ["Logging__LogLevel__IdentityServer.Maintenance.Cleanup"] = "Information",
        ["Logging__LogLevel__IdentityServer.Keys.DbSigningKeyStore"] = "Information",
        ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
        ["CLUSTER_CONFIGURATION"] = ServerProcess.BuildConfiguration,
    };

    /// <summary>Keeps every cookie by name whichever node set it (the nodes share one host name behind the proxy), Secure ones included.</summary>
    private sealed class CookieJar
    {
        private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);
        public void Take(HttpResponseMessage r)
        {
            if (!r.Headers.TryGetValues("Set-Cookie", out var values)) return;
            lock (_cookies)
                foreach (var pair in values.Select(v => v.Split(';')[0]))
                {
                    var eq = pair.IndexOf('=');
                    if (eq <= 0) continue;
                    if (pair[(eq + 1)..].Length == 0) _cookies.Remove(pair[..eq]);
                    else _cookies[pair[..eq]] = pair[(eq + 1)..];
                }
        }
        public string? Header() { lock (_cookies) return _cookies.Count == 0 ? null : string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")); }
    }

    /// <summary>One node's leg from the proxy (<see cref="TlsProxyLeg"/>), with the shared cookies.</summary>
    private sealed class NodeLeg(CookieJar jar) : DelegatingHandler(new TlsProxyLeg())
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (jar.Header() is { } cookies) request.Headers.Add("Cookie", cookies);
            var response = await base.SendAsync(request, ct);
            jar.Take(response);
            return response;
        }
    }

    public async Task InitializeAsync()
    {
        if (TestDatabase.PostgresServer is not null) return;
        var printed = await Scripts.RunAsync("cluster.sh", ["up", _dir], Settings, timeoutSeconds: 300);
        _env = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1].Trim('\''));
        _nodes = [Node("NODE1"), Node("NODE2")];
    }

    private HttpClient Node(string name) => new(new NodeLeg(_jar)) { BaseAddress = new Uri(_env[name]), Timeout = TimeSpan.FromSeconds(60) };

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes) n.Dispose();
        if (Directory.Exists(_dir))
        {
            foreach (var log in new[] { "node1.log", "node2.log" })
                if (File.Exists(Path.Combine(_dir, log))) output.WriteLine($"--- {log} (last lines)\n" + string.Join('\n', File.ReadLines(Path.Combine(_dir, log)).TakeLast(15)));
            await Scripts.RunAsync("cluster.sh", ["down", _dir]);
        }
    }

    private NpgsqlConnection Database()
    {
        var c = new NpgsqlConnection(_env["DATABASE"] + ";Pooling=false");
        c.Open();
        return c;
    }

    private long Scalar(string sql)
    {
        using var c = Database();
        using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(cmd.ExecuteScalar());
    }

    private static FormUrlEncodedContent Form(params (string, string)[] fields) => new(fields.ToDictionary(f => f.Item1, f => f.Item2));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    private async Task<HttpResponseMessage> ClientTokenAsync(HttpClient node, string clientId, string secret, string scope = "api1") =>
        await node.PostAsync("/connect/token", Form(("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", secret), ("scope", scope)));

    private static async Task<HttpResponseMessage> SubmitLoginAsync(HttpClient node, string user, string password, string? returnUrl = null)
    {
        var page = await node.GetAsync("/account/login");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var fields = new List<(string, string)> { ("Input.UserName", user), ("Input.Password", password), ("__RequestVerificationToken", await OidcDriver.AntiforgeryTokenAsync(page)) };
        if (returnUrl is not null) fields.Add(("ReturnUrl", returnUrl));
        return await node.PostAsync("/account/login", Form([.. fields]));
    }

    [OncePerRunFact]
    public async Task TwoNodes_OnePostgreSql_BehaveAsOneServer()
    {
        var (n1, n2) = (_nodes[0], _nodes[1]);
        var clock = Stopwatch.StartNew();

        // Through the proxy, over TLS: discovery and a token, and /metrics is not passed on.
        var pinned = X509CertificateLoader.LoadCertificateFromFile(_env["CERTIFICATE"]);
        using (var viaProxy = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.Thumbprint == pinned.Thumbprint })
               { BaseAddress = new Uri(_env["ISSUER"]) })
        {
            var discovery = await JsonAsync(await viaProxy.GetAsync("/.well-known/openid-configuration"));
            Assert.Equal(_env["ISSUER"], discovery.GetProperty("issuer").GetString());
            Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(viaProxy, Service, ServiceSecret)).StatusCode);
            // As sent (System.Uri would otherwise decode %6D and drop dot segments before the proxy sees them).
            foreach (var path in new[] { "/metrics", "/METRICS", "/%6Detrics", "/Metrics/", "/./metrics", "/x/../metrics", "//metrics" })
            {
                var raw = new Uri(_env["ISSUER"] + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
                Assert.Equal(HttpStatusCode.NotFound, (await viaProxy.GetAsync(raw)).StatusCode);
            }
            var spoofed = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            spoofed.Headers.Add("X-Forwarded-For", "127.0.0.1");
            Assert.Equal(HttpStatusCode.NotFound, (await viaProxy.SendAsync(spoofed)).StatusCode);
        }

        // Both nodes started at once on an empty database: one signing key was made, not two.
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM \"SigningKeys\""));

        // A sign-in cookie made by node 1 works on node 2: the authorization request there needs no new sign-in.
        static string Authorize(string verifier) => QueryHelpers.AddQueryString("/connect/authorize", new Dictionary<string, string?>
        {
            ["client_id"] = Web, ["redirect_uri"] = Redirect, ["response_type"] = "code", ["scope"] = "openid offline_access api1",
            ["code_challenge"] = Hashes.S256Challenge(verifier), ["code_challenge_method"] = "S256", ["state"] = "s1",
        });
        var verifier = OidcDriver.NewVerifier();
        Assert.Equal(HttpStatusCode.Redirect, (await SubmitLoginAsync(n1, "alice", Password)).StatusCode);
        var atNode2 = await n2.GetAsync(Authorize(verifier));
        Assert.Equal(HttpStatusCode.Redirect, atNode2.StatusCode);
        Assert.StartsWith(Redirect, atNode2.Headers.Location!.OriginalString);
        var code = OidcDriver.RedirectQuery(atNode2)["code"];

        // 50 redemptions of that code at once, alternating between the nodes: exactly one succeeds.
        var race = Stopwatch.StartNew();
        var redemptions = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => _nodes[i % 2].PostAsync("/connect/token", Form(
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", Redirect), ("code_verifier", verifier),
            ("client_id", Web), ("client_secret", WebSecret)))));
        race.Stop();
        var statuses = redemptions.GroupBy(r => r.StatusCode).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"50 parallel redemptions of one code over 2 nodes: {string.Join(", ", statuses.Select(s => $"{(int)s.Key} × {s.Value}"))} in {race.ElapsedMilliseconds} ms");
        Assert.Equal(1, statuses.GetValueOrDefault(HttpStatusCode.OK));
        Assert.Equal(49, statuses.GetValueOrDefault(HttpStatusCode.BadRequest));
        foreach (var refused in redemptions.Where(r => r.StatusCode != HttpStatusCode.OK))
            Assert.Equal("invalid_grant", (await JsonAsync(refused)).GetProperty("error").GetString());
        var winner = await JsonAsync(redemptions.Single(r => r.StatusCode == HttpStatusCode.OK));
        Task<HttpResponseMessage> Refresh(HttpClient node, string token) => node.PostAsync("/connect/token", Form(
            ("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", Web), ("client_secret", WebSecret)));
        // The code's own client presented it again, so what the winner got is revoked too (RFC 6749 §4.1.2), on both nodes.
        Assert.Equal(HttpStatusCode.BadRequest, (await Refresh(n1, winner.GetProperty("refresh_token").GetString()!)).StatusCode);

        // Refresh-token reuse is seen across nodes: a new code (node 1) redeemed on node 2, rotated on node 1, and the old refresh
        // token replayed on node 2 fails and revokes the new one.
        verifier = OidcDriver.NewVerifier();
        var again = await n1.GetAsync(Authorize(verifier));
        Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        var redeemed = await n2.PostAsync("/connect/token", Form(("grant_type", "authorization_code"), ("code", OidcDriver.RedirectQuery(again)["code"]),
            ("redirect_uri", Redirect), ("code_verifier", verifier), ("client_id", Web), ("client_secret", WebSecret)));
        Assert.Equal(HttpStatusCode.OK, redeemed.StatusCode);
        var refresh1 = (await JsonAsync(redeemed)).GetProperty("refresh_token").GetString()!;
        var rotated = await Refresh(n1, refresh1);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var refresh2 = (await JsonAsync(rotated)).GetProperty("refresh_token").GetString()!;
        var replay = await Refresh(n2, refresh1);
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);
        Assert.Equal("invalid_grant", (await JsonAsync(replay)).GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, (await Refresh(n1, refresh2)).StatusCode);

        // An admin change holds at once on the node that made it, and on the other node within the client cache's bound
        // (IdentityServer:Cache:ClientSeconds, 5 s by default), and back.
        var adminToken = (await JsonAsync(await ClientTokenAsync(n1, Admin, AdminSecret, "idp.admin"))).GetProperty("access_token").GetString()!;
        HttpRequestMessage AdminRequest(HttpMethod method, string path, string? body = null) => new(method, path)
        {
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", adminToken) },
            Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
        };
        var created = await n1.SendAsync(AdminRequest(HttpMethod.Post, "/admin/api/clients",
            """{"client_id":"made-on-node1","confidential":true,"grant_types":["client_credentials"],"scopes":["api1"]}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var madeSecret = (await JsonAsync(created)).GetProperty("client_secret").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(n2, "made-on-node1", madeSecret)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await ClientTokenAsync(n1, "made-on-node1", madeSecret)).StatusCode); // both nodes hold it now
        Assert.Equal(HttpStatusCode.NoContent, (await n2.SendAsync(AdminRequest(HttpMethod.Delete, "/admin/api/clients/made-on-node1"))).StatusCode);
        var deleted = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Unauthorized, (await ClientTokenAsync(n2, "made-on-node1", madeSecret)).StatusCode);
        while ((await ClientTokenAsync(n1, "made-on-node1", madeSecret)).StatusCode != HttpStatusCode.Unauthorized)
        {
            Assert.True(deleted.Elapsed < TimeSpan.FromSeconds(6.5), "node 1 still accepts a client deleted on node 2 more than 5 s ago");
            await Task.Delay(100);
        }

        // Client-authentication throttling counts failures from both nodes: the limit's worth, alternating, then 429 on either, the right secret too.
        for (var i = 0; i < ClientFailureLimit; i++)
            Assert.Equal(HttpStatusCode.Unauthorized, (await ClientTokenAsync(_nodes[i % 2], Guessed, "wrong-" + GuessedSecret)).StatusCode);
        var throttled = await ClientTokenAsync(n1, Guessed, "wrong-" + GuessedSecret);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.NotNull(throttled.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await ClientTokenAsync(n2, Guessed, GuessedSecret)).StatusCode);

        // User-code throttling counts entries on both nodes (per client address; the session limit is set out of the way).
        for (var i = 0; i <= UserCodeLimit; i++)
        {
            var node = _nodes[i % 2];
            var page = await node.GetAsync("/device");
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            var entry = await node.PostAsync("/device", Form(("user_code", "BCDF-GHJK"), ("__RequestVerificationToken", await OidcDriver.AntiforgeryTokenAsync(page))));
            Assert.Equal(i < UserCodeLimit ? HttpStatusCode.OK : HttpStatusCode.TooManyRequests, entry.StatusCode);
        }

        // Account lockout counts wrong passwords on both nodes, also when they race: 20 at once, spread over the nodes, then the right
        // password fails on either.
        var loginPage = await n1.GetAsync("/account/login");
        var antiforgery = await OidcDriver.AntiforgeryTokenAsync(loginPage);
        var guesses = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => _nodes[i % 2].PostAsync("/account/login",
            Form(("Input.UserName", "bob"), ("Input.Password", $"wrong-password-{i:D4}"), ("__RequestVerificationToken", antiforgery)))));
        Assert.All(guesses, g => Assert.Equal(HttpStatusCode.OK, g.StatusCode)); // the form again, never a sign-in
        Assert.Equal(HttpStatusCode.OK, (await SubmitLoginAsync(n2, "bob", Password)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await SubmitLoginAsync(n1, "bob", Password)).StatusCode);
        // At most the lockout's five guesses were checked against the password; the other 17 attempts were refused unchecked.
        var reasons = new[] { "node1.log", "node2.log" }.SelectMany(f => File.ReadAllText(Path.Combine(_dir, f)).Split("Sign-in failed for").Skip(1))
            .Select(l => l.Split('\n')[0]).Where(l => l.Contains("wrong password") || l.Contains("locked out")).ToList();
        Assert.InRange(reasons.Count(l => l.Contains("wrong password")), 1, 5);
        Assert.Equal(22 - reasons.Count(l => l.Contains("wrong password")), reasons.Count(l => l.Contains("locked out")));
        Assert.Equal(1, Scalar("SELECT COUNT(*) FROM \"AspNetUsers\" WHERE \"UserName\" = 'bob' AND \"LockoutEnd\" > now()"));

        // Key rotation happens once: make the active key due, start both nodes at the same moment, and one successor is published.
        await Scripts.RunAsync("cluster.sh", ["nodes-stop", _dir]);
        Assert.Contains("Application is shutting down", File.ReadAllText(Path.Combine(_dir, "node1.log")));
        Assert.Equal(1, Scalar("UPDATE \"SigningKeys\" SET \"ActivatedAt\" = \"ActivatedAt\" - interval '90 days', \"CreatedAt\" = \"CreatedAt\" - interval '90 days' RETURNING 1"));
        await Scripts.RunAsync("cluster.sh", ["nodes-start", _dir], Settings, timeoutSeconds: 300);
        Assert.Equal(2, Scalar("SELECT COUNT(*) FROM \"SigningKeys\""));
        var scheduled = 0.0;
        foreach (var node in _nodes)
            scheduled += MetricsTests.Sample(await (await node.GetAsync("/metrics")).Content.ReadAsStringAsync(), "idsrv_signing_keys_rotations_total", "reason=\"scheduled\"");
        Assert.Equal(1, scheduled);

        // Tokens from either node validate on both: the same keys published, and each node's token is active at the other's introspection.
        var jwks = await Task.WhenAll(_nodes.Select(async n => (await n.GetStringAsync("/.well-known/jwks.json"))));
        Assert.Equal(2, JsonDocument.Parse(jwks[0]).RootElement.GetProperty("keys").GetArrayLength());
        Assert.Equal(jwks[0], jwks[1]);
        for (var i = 0; i < 2; i++)
        {
            var token = (await JsonAsync(await ClientTokenAsync(_nodes[i], Service, ServiceSecret))).GetProperty("access_token").GetString()!;
            var introspection = await JsonAsync(await _nodes[1 - i].PostAsync("/connect/introspect", Form(("token", token), ("client_id", Service), ("client_secret", ServiceSecret))));
            Assert.True(introspection.GetProperty("active").GetBoolean(), $"a token of node {i + 1} is active at node {2 - i}");
        }

        // The cleanup job ran once for both nodes and both starts: its lease holds for the interval.
        var runs = new[] { "node1.log", "node2.log" }.Sum(f => File.ReadAllText(Path.Combine(_dir, f)).Split("Cleanup removed").Length - 1);
        Assert.Equal(1, runs);
        output.WriteLine($"multi-node scenario: {clock.Elapsed.TotalSeconds:F1} s after the cluster was up");
    }
}

/// <summary>A fact that runs in the suite's SQLite pass only: it brings its own PostgreSQL, so the PostgreSQL pass would only repeat it.</summary>
public sealed class OncePerRunFactAttribute : FactAttribute
{
    /// <summary>Skips in the PostgreSQL pass.</summary>
    public OncePerRunFactAttribute()
    {
        if (TestDatabase.PostgresServer is not null) Skip = "runs in the SQLite pass (it starts its own PostgreSQL)";
    }
}
