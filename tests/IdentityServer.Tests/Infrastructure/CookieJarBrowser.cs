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

    /// <summary>The antiforgery token of the page at <paramref name="path"/>.</summary>
    public async Task<string> TokenAsync(string path)
    {
        var page = await GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return await OidcDriver.AntiforgeryTokenAsync(page);
    }
}
