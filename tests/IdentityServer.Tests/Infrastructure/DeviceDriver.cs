using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AngleSharp.Html.Parser;

namespace IdentityServer.Tests.Infrastructure;

/// <summary>Drives the device flow: the device's requests (device authorization, polling) and a person's browser on the verification pages.</summary>
public sealed class DeviceDriver(IdentityServerFactory factory)
{
    public const string DeviceGrant = "urn:ietf:params:oauth:grant-type:device_code";

    /// <summary>The device's HTTP client (no cookies).</summary>
    public HttpClient Device { get; } = factory.CreateClient(new() { AllowAutoRedirect = false, BaseAddress = new Uri(IdentityServerFactory.Issuer), HandleCookies = false });

    /// <summary>POSTs to the device authorization endpoint: client_secret_basic with a secret, else client_id in the body.</summary>
    public Task<HttpResponseMessage> AuthorizeDeviceAsync(string clientId = IdentityServerFactory.DeviceClient, string? secret = null, string? scope = "openid profile offline_access api1")
    {
        var form = new Dictionary<string, string>();
        if (scope is not null) form["scope"] = scope;
        return Send("/connect/deviceauthorization", form, clientId, secret);
    }

    /// <summary>Starts a device authorization and asserts it succeeded; returns the response JSON.</summary>
    public async Task<JsonElement> StartAsync(string clientId = IdentityServerFactory.DeviceClient, string? secret = null, string? scope = "openid profile offline_access api1") =>
        await Json.OkAsync(await AuthorizeDeviceAsync(clientId, secret, scope));

    /// <summary>One poll of the token endpoint with the device code.</summary>
    public Task<HttpResponseMessage> PollAsync(string deviceCode, string clientId = IdentityServerFactory.DeviceClient, string? secret = null) =>
        Send("/connect/token", new() { ["grant_type"] = DeviceGrant, ["device_code"] = deviceCode }, clientId, secret);

    private Task<HttpResponseMessage> Send(string path, Dictionary<string, string> form, string clientId, string? secret)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path);
        if (secret is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(clientId)}:{Uri.EscapeDataString(secret)}")));
        else form["client_id"] = clientId;
        request.Content = new FormUrlEncodedContent(form);
        return Device.SendAsync(request);
    }

    /// <summary>Opens the code-entry page (optionally with <c>?user_code=</c>) and submits <paramref name="typed"/> with its antiforgery token.</summary>
    public static async Task<HttpResponseMessage> EnterCodeAsync(HttpClient browser, string typed, string? prefill = null)
    {
        var page = await browser.GetAsync("/device" + (prefill is null ? "" : "?user_code=" + Uri.EscapeDataString(prefill)));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var token = await OidcDriver.AntiforgeryTokenAsync(page);
        return await browser.PostAsync("/device", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["user_code"] = typed, ["__RequestVerificationToken"] = token,
        }));
    }

    /// <summary>
    /// Enters the code as a signed-out person, signs in when sent to the login page, and returns the confirmation page
    /// (asserting it shows the request). <paramref name="browser"/> keeps its cookies for the decision.
    /// </summary>
    public static async Task<ConfirmationPage> OpenConfirmationAsync(HttpClient browser, string typed,
        string userName = IdentityServerFactory.UserName, string password = IdentityServerFactory.Password)
    {
        var entered = await EnterCodeAsync(browser, typed);
        Assert.Equal(HttpStatusCode.Redirect, entered.StatusCode);
        var confirmUrl = entered.Headers.Location!.OriginalString;
        Assert.StartsWith("/device/confirm?ticket=", confirmUrl);

        var page = await browser.GetAsync(confirmUrl);
        if (page.StatusCode == HttpStatusCode.Redirect)
        {
            Assert.Equal("/account/login", new Uri(new Uri(IdentityServerFactory.Issuer), page.Headers.Location!).AbsolutePath);
            var login = await new OidcDriver(browser).SubmitLoginAsync(userName, password, confirmUrl);
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
            Assert.Equal(confirmUrl, login.Headers.Location!.OriginalString);
            page = await browser.GetAsync(confirmUrl);
        }
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        return new ConfirmationPage(confirmUrl, await page.Content.ReadAsStringAsync());
    }

    /// <summary>Presses Approve (<c>approve</c>) or Deny (<c>deny</c>) on the confirmation page; returns the resulting page's HTML.</summary>
    public static async Task<string> DecideAsync(HttpClient browser, ConfirmationPage page, string decision)
    {
        var doc = new HtmlParser().ParseDocument(page.Html);
        var form = new Dictionary<string, string>
        {
            ["Ticket"] = doc.QuerySelector("input[name=Ticket]")!.GetAttribute("value")!,
            ["__RequestVerificationToken"] = doc.QuerySelector("input[name=__RequestVerificationToken]")!.GetAttribute("value")!,
            ["decision"] = decision,
        };
        var r = await browser.PostAsync(page.Url, new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return await r.Content.ReadAsStringAsync();
    }

    /// <summary>The whole person's side: enter, sign in, approve. Returns the final page's HTML.</summary>
    public async Task<string> ApproveAsync(string userCode)
    {
        var browser = factory.CreateBrowser();
        var page = await OpenConfirmationAsync(browser, userCode);
        return await DecideAsync(browser, page, "approve");
    }

    /// <summary>The <c>h1</c> text of an HTML page.</summary>
    public static string Heading(string html) => new HtmlParser().ParseDocument(html).QuerySelector("h1")?.TextContent.Trim() ?? "";
}

/// <summary>The confirmation screen as served: its URL (with the ticket) and HTML.</summary>
public sealed record ConfirmationPage(string Url, string Html);
