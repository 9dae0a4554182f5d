using IdentityServer.Options;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace IdentityServer.Account;

/// <summary>
/// Cookie names and flags. With an https issuer every cookie is <c>__Host-</c>-prefixed (Secure, Path=/, no
/// Domain; RFC 6265bis §4.1.3.2); with an http loopback issuer (development) the prefix is dropped because
/// browsers refuse Secure cookies over http. HttpOnly and SameSite=Lax always.
/// </summary>
public sealed class CookieSetup(IdentityServerOptions options) :
    IConfigureNamedOptions<CookieAuthenticationOptions>, IConfigureOptions<AntiforgeryOptions>
{
    private bool Secure => IsSecure(options);
    private string Prefix => Secure ? "__Host-" : "";

    /// <summary>True when the issuer is https, so cookies are Secure and <c>__Host-</c>-prefixed.</summary>
    public static bool IsSecure(IdentityServerOptions options) => options.Issuer.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Options for one of this server's own small cookies (<paramref name="baseName"/> prefixed as above), HttpOnly, SameSite=Lax, session lifetime.</summary>
    public static (string Name, CookieOptions Options) OwnCookie(IdentityServerOptions options, string baseName) =>
        ((IsSecure(options) ? "__Host-" : "") + baseName,
         new CookieOptions { HttpOnly = true, SameSite = SameSiteMode.Lax, Path = "/", Secure = IsSecure(options), IsEssential = true });

    /// <inheritdoc />
    public void Configure(string? name, CookieAuthenticationOptions o)
    {
        o.Cookie.HttpOnly = true;
        o.Cookie.SameSite = SameSiteMode.Lax;
        o.Cookie.Path = "/";
        o.Cookie.SecurePolicy = Secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        if (name == IdentityConstants.ApplicationScheme)
        {
            o.Cookie.Name = Prefix + "idsrv";
            o.LoginPath = "/account/login";
            o.LogoutPath = "/account/logout";
            o.AccessDeniedPath = "/account/access-denied";
            o.ExpireTimeSpan = TimeSpan.FromHours(8);
            o.SlidingExpiration = true;
            // The admin UI's two refusals, logged as what they are: not signed in (401) and signed in without the role (403).
            var toLogin = o.Events.OnRedirectToLogin;
            var toAccessDenied = o.Events.OnRedirectToAccessDenied;
            o.Events.OnRedirectToLogin = context =>
            {
                if (context.Request.Path.StartsWithSegments("/admin"))
                    Logger(context.HttpContext).LogWarning("Admin UI: not signed in (401) for {Path}", context.Request.Path);
                return toLogin(context);
            };
            o.Events.OnRedirectToAccessDenied = context =>
            {
                if (context.Request.Path.StartsWithSegments("/admin"))
                    Logger(context.HttpContext).LogWarning("Admin UI: signed in without the admin role (403) for {Path}", context.Request.Path);
                return toAccessDenied(context);
            };
        }
        else if (name == IdentityConstants.ExternalScheme) o.Cookie.Name = Prefix + "idsrv.external";
        else if (name == IdentityConstants.TwoFactorUserIdScheme) o.Cookie.Name = Prefix + "idsrv.2fa";
        else if (name == IdentityConstants.TwoFactorRememberMeScheme) o.Cookie.Name = Prefix + "idsrv.2fa.remember";
        else if (name == TwoFactorLogin.Scheme)
        {
            o.Cookie.Name = Prefix + TwoFactorLogin.Scheme;
            o.ExpireTimeSpan = TwoFactorLogin.Lifetime;
            o.SlidingExpiration = false;
        }
    }

    /// <inheritdoc />
    public void Configure(CookieAuthenticationOptions o) => Configure(Microsoft.Extensions.Options.Options.DefaultName, o);

    private static ILogger Logger(HttpContext http) => http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("IdentityServer.Admin");

    /// <inheritdoc />
    public void Configure(AntiforgeryOptions o)
    {
        o.Cookie.Name = Prefix + "idsrv.af";
        o.Cookie.Path = "/";
        o.Cookie.SecurePolicy = Secure ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        o.Cookie.SameSite = SameSiteMode.Strict;
    }
}
