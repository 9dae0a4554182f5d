using System.Net;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>
/// A browser whose cookies the test holds in <see cref="Cookies"/> (name → value), so it can copy them and send a
/// request again exactly as before, as an attacker who captured the traffic would. No redirects are followed.
/// </summary>
public sealed class CookieJarBrowser(IdentityServerFactory factory)
{
    private readonly HttpClient _http = factory.CreateClient(new() { AllowAutoRedirect = false, BaseAddress = new Uri(IdentityServerFactory.Issuer), HandleCookies = false });

    public Dictionary<string, string> Cookies { get; } = new(StringComparer.Ordinal);

    /// <summary>Sends with <paramref name="cookies"/> (default: the jar, which then takes the response's Set-Cookie headers).</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, IReadOnlyDictionary<string, string>? cookies = null)
    {
        var jar = cookies ?? Cookies;
        if (jar.Count > 0) request.Headers.Add("Cookie", string.Join("; ", jar.Select(kv => $"{kv.Key}={kv.Value}")));
        var response = await _http.SendAsync(request);
        if (cookies is null && response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var header in setCookies)
            {
                var pair = header.Split(';')[0];
                var eq = pair.IndexOf('=');
                var (name, value) = (pair[..eq], pair[(eq + 1)..]);
                if (value.Length == 0 || header.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase)) Cookies.Remove(name);
                else Cookies[name] = value;
            }
        }
        return response;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => SendAsync(new HttpRequestMessage(HttpMethod.Get, path));

    /// <summary>POSTs a form; <paramref name="token"/> goes in the form (and the header, as the page script sends it).</summary>
    public Task<HttpResponseMessage> PostAsync(string path, Dictionary<string, string> form, string token, IReadOnlyDictionary<string, string>? cookies = null)
    {
        form["__RequestVerificationToken"] = token;
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("RequestVerificationToken", token);
        return SendAsync(request, cookies);
    }

    /// <summary>Submits the login form with a password; 302 on success.</summary>
    public async Task<HttpResponseMessage> PasswordSignInAsync(string userName, string password) =>
        await PostAsync("/account/login", new() { ["Input.UserName"] = userName, ["Input.Password"] = password }, await TokenAsync("/account/login"));

    /// <summary>Adds a passkey named <paramref name="name"/> on the account page, <paramref name="authenticator"/> answering as from <paramref name="origin"/>; 302 on success.</summary>
    public async Task<HttpResponseMessage> AddPasskeyAsync(SoftwareAuthenticator authenticator, string name, string origin = IdentityServerFactory.Issuer)
    {
        var token = await TokenAsync("/account/passkeys");
        var options = await (await PostAsync("/account/passkeys?handler=CreationOptions", new(), token)).Content.ReadAsStringAsync();
        return await PostAsync("/account/passkeys?handler=Add", new() { ["Name"] = name, ["credential"] = authenticator.Register(options, origin) }, token);
    }

    /// <summary>Signs in with the passkey of <paramref name="authenticator"/> on the login page; 302 on success, the page with an error otherwise.</summary>
    public async Task<HttpResponseMessage> PasskeySignInAsync(SoftwareAuthenticator authenticator, string origin = IdentityServerFactory.Issuer)
    {
        var token = await TokenAsync("/account/login");
        var options = await (await PostAsync("/account/login?handler=PasskeyOptions", new(), token)).Content.ReadAsStringAsync();
        return await PostAsync("/account/login?handler=Passkey", new() { ["credential"] = authenticator.Assert(options, origin) }, token);
    }

    /// <summary>The antiforgery token of the page at <paramref name="path"/>.</summary>
    public async Task<string> TokenAsync(string path)
    {
        var page = await GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return await OidcDriver.AntiforgeryTokenAsync(page);
    }
}
