using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AngleSharp.Html.Parser;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.IdentityModel.Tokens;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Drives the server as a browser and a relying party would: real login form, real redirects, real token requests.</summary>
public sealed class OidcDriver(HttpClient http)
{
    public HttpClient Http => http;

    public static string NewVerifier() => Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));

    /// <summary>Submits the login form (with its antiforgery token) and returns the response (302 on success).</summary>
    public async Task<HttpResponseMessage> SubmitLoginAsync(string userName, string password, string? returnUrl = null)
    {
        var page = await http.GetAsync("/account/login" + (returnUrl is null ? "" : "?ReturnUrl=" + Uri.EscapeDataString(returnUrl)));
        page.EnsureSuccessStatusCode();
        var token = await AntiforgeryTokenAsync(page);
        var form = new Dictionary<string, string>
        {
            ["Input.UserName"] = userName, ["Input.Password"] = password, ["__RequestVerificationToken"] = token,
        };
        if (returnUrl is not null) form["ReturnUrl"] = returnUrl;
        return await http.PostAsync("/account/login", new FormUrlEncodedContent(form));
    }

    /// <summary>Signs in and asserts it worked.</summary>
    public async Task LoginAsync(string userName = IdentityServerFactory.UserName, string password = IdentityServerFactory.Password)
    {
        var r = await SubmitLoginAsync(userName, password);
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
    }

    public static async Task<string> AntiforgeryTokenAsync(HttpResponseMessage page)
    {
        var doc = new HtmlParser().ParseDocument(await page.Content.ReadAsStringAsync());
        return doc.QuerySelector("input[name=__RequestVerificationToken]")?.GetAttribute("value")
            ?? throw new InvalidOperationException("no antiforgery token on the page");
    }

    /// <summary>Standard code-flow parameters for <paramref name="clientId"/>, overridable.</summary>
    public static Dictionary<string, string?> AuthorizeParameters(string verifier, string clientId = IdentityServerFactory.WebClient,
        string redirectUri = IdentityServerFactory.WebRedirect, string scope = "openid profile email offline_access api1") => new()
    {
        ["client_id"] = clientId, ["redirect_uri"] = redirectUri, ["response_type"] = "code", ["scope"] = scope,
        ["code_challenge"] = Hashes.S256Challenge(verifier), ["code_challenge_method"] = "S256",
        ["state"] = "st-" + Guid.NewGuid().ToString("N"), ["nonce"] = "n-" + Guid.NewGuid().ToString("N"),
    };

    public Task<HttpResponseMessage> AuthorizeAsync(IDictionary<string, string?> parameters) =>
        http.GetAsync(QueryHelpers.AddQueryString("/connect/authorize", parameters.Where(kv => kv.Value is not null)!));

    /// <summary>Signs in if needed, runs the authorization request, and returns the code from the redirect.</summary>
    public async Task<string> GetCodeAsync(string verifier, IDictionary<string, string?>? parameters = null)
    {
        parameters ??= AuthorizeParameters(verifier);
        var r = await AuthorizeAsync(parameters);
        if (r.Headers.Location?.OriginalString.StartsWith("/account/login") == true)
        {
            await LoginAsync();
            r = await AuthorizeAsync(parameters);
        }
        Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);
        var query = RedirectQuery(r);
        Assert.True(query.ContainsKey("code"), $"no code in {r.Headers.Location}");
        return query["code"]!;
    }

    public static Dictionary<string, string> RedirectQuery(HttpResponseMessage r)
    {
        var location = r.Headers.Location!.OriginalString;
        var q = location.IndexOf('?');
        return q < 0 ? new() : QueryHelpers.ParseQuery(location[q..]).ToDictionary(kv => kv.Key, kv => kv.Value.ToString());
    }

    /// <summary>POSTs to the token endpoint with client_secret_basic when <paramref name="secret"/> is given, else client_id in the body.</summary>
    public Task<HttpResponseMessage> TokenAsync(Dictionary<string, string> form, string clientId, string? secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/connect/token");
        if (secret is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        else form["client_id"] = clientId;
        request.Content = new FormUrlEncodedContent(form);
        return http.SendAsync(request);
    }

    public Task<HttpResponseMessage> RedeemCodeAsync(string code, string verifier, string clientId = IdentityServerFactory.WebClient,
        string? secret = IdentityServerFactory.WebSecret, string redirectUri = IdentityServerFactory.WebRedirect) =>
        TokenAsync(new() { ["grant_type"] = "authorization_code", ["code"] = code, ["code_verifier"] = verifier, ["redirect_uri"] = redirectUri }, clientId, secret);

    public Task<HttpResponseMessage> RefreshAsync(string refreshToken, string clientId = IdentityServerFactory.WebClient, string? secret = IdentityServerFactory.WebSecret, string? scope = null)
    {
        var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["refresh_token"] = refreshToken };
        if (scope is not null) form["scope"] = scope;
        return TokenAsync(form, clientId, secret);
    }

    public Task<HttpResponseMessage> UserInfoAsync(string? accessToken)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/connect/userinfo");
        if (accessToken is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        return http.SendAsync(request);
    }

    /// <summary>A full code flow for the default web client; returns the token response JSON.</summary>
    public async Task<JsonElement> SignInAndGetTokensAsync(string scope = "openid profile email offline_access api1")
    {
        var verifier = NewVerifier();
        var code = await GetCodeAsync(verifier, AuthorizeParameters(verifier, scope: scope));
        var r = await RedeemCodeAsync(code, verifier);
        return await Json.OkAsync(r);
    }
}

/// <summary>JSON assertions on HTTP responses.</summary>
public static class Json
{
    public static async Task<JsonElement> OkAsync(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"expected 200, got {(int)r.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Asserts an OAuth error response: status and <c>error</c> code.</summary>
    public static async Task<JsonElement> ErrorAsync(HttpResponseMessage r, HttpStatusCode status, string error)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == status, $"expected {(int)status}, got {(int)r.StatusCode}: {body}");
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal(error, json.GetProperty("error").GetString());
        return json;
    }

    public static string Str(this JsonElement e, string name) => e.GetProperty(name).GetString()!;
}
