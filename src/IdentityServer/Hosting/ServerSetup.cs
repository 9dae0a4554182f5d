using IdentityServer.Account;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Device;
using IdentityServer.Http;
using IdentityServer.Interaction;
using IdentityServer.Keys;
using IdentityServer.Options;
using IdentityServer.Protocol;
using IdentityServer.Protocol.Endpoints;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace IdentityServer.Hosting;

/// <summary>Builds the web application: services, then the request pipeline.</summary>
public static class ServerSetup
{
    /// <summary>Creates the builder with every service registered. Configuration errors surface when the app starts.</summary>
    public static WebApplicationBuilder CreateBuilder(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = DefaultContentRoot(args) });
        // No "Server: Kestrel" banner: it tells a prober which stack to aim at, and nothing to anyone else (ASVS 5.0 13.4).
        builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);
        AddServices(builder.Services, builder.Configuration);
        return builder;
    }

    /// <summary>
    /// The folder of the application's own files (appsettings.json, wwwroot) unless a content root is given with
    /// <c>--contentRoot</c> or <c>ASPNETCORE_CONTENTROOT</c>; so the server reads its settings from wherever it is started.
    /// </summary>
    private static string? DefaultContentRoot(string[] args) =>
        args.Any(a => a.TrimStart('-').StartsWith("contentRoot", StringComparison.OrdinalIgnoreCase))
        || Environment.GetEnvironmentVariable("ASPNETCORE_CONTENTROOT") is not null
            ? null
            : AppContext.BaseDirectory;

    /// <summary>Registers protocol, storage, Identity, Razor Pages and the start-up initializer.</summary>
    public static void AddServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdentityServerOptions>().Bind(configuration.GetSection(IdentityServerOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<IdentityServerOptions>, IdentityServerOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<IdentityServerOptions>>().Value);
        services.AddIdentityServerDatabase();
        services.TryAddSingleton(TimeProvider.System);

        // Data Protection: key ring in the database (ASP.NET's EF Core store), shared by every node; encrypted at rest when a
        // certificate is configured.
        DataProtectionSettings.Apply(services.AddDataProtection().SetApplicationName("IdentityServer").PersistKeysToDbContext<IdentityServerDbContext>(), configuration);

        // Protocol: OpenIddict and our handlers; the interaction service between the pages and the endpoints.
        services.AddSingleton<ScopeCatalog>();
        services.AddSingleton<ISigningKeyStore, DbSigningKeyStore>();
        services.AddProtocol();
        services.AddScoped<AccessTokenValidation>();
        services.AddScoped<ActiveUsers>();
        services.AddScoped<InteractionService>();
        services.AddScoped<DeviceVerification>();
        services.AddSingleton<InteractionTickets>();
        services.AddScoped<SessionLogout>();
        services.AddHttpClient(SessionLogout.HttpClientName, c => c.Timeout = TimeSpan.FromSeconds(10))
            .ConfigurePrimaryHttpMessageHandler(() => new HttpClientHandler { AllowAutoRedirect = false });
        services.AddHttpContextAccessor();
        services.AddScoped<IdentityServer.Admin.ClientAdministration>();
        services.AddScoped<IdentityServer.Admin.UserAdministration>();
        services.AddScoped<IdentityServer.Admin.AuditQuery>();
        services.AddScoped<IdentityServer.Admin.AdminApiAuthorization>();
        services.AddOpenApi(o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith("admin/api", StringComparison.Ordinal) == true;
            o.AddDocumentTransformer<IdentityServer.Admin.AdminOpenApi>();
        });
        services.AddSingleton<IdentityServer.Audit.IAuditLog, IdentityServer.Audit.AuditLog>();
        services.AddScoped<UserCodeAttemptLimiter>();
        services.AddHealth();
        services.AddTelemetry(configuration);

        // ASP.NET Core Identity: NIST SP 800-63B length-only passwords, lockout 5 → 15 minutes.
        services.AddIdentity<ApplicationUser, IdentityRole>(o =>
            {
                o.Stores.SchemaVersion = IdentitySchemaVersions.Version3;
                o.Password.RequiredLength = SeedUserOptions.MinimumPasswordLength;
                o.Password.RequireDigit = false;
                o.Password.RequireLowercase = false;
                o.Password.RequireUppercase = false;
                o.Password.RequireNonAlphanumeric = false;
                o.Password.RequiredUniqueChars = 1;
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
                o.User.RequireUniqueEmail = false;
                o.Tokens.AuthenticatorTokenProvider = TotpTokenProvider.ProviderName;
            })
            .AddEntityFrameworkStores<IdentityServerDbContext>()
            .AddDefaultTokenProviders()
            .AddTokenProvider<TotpTokenProvider>(TotpTokenProvider.ProviderName);
        // The authenticator key sealed and recovery codes hashed (replaces the store AddEntityFrameworkStores registered).
        services.AddScoped<IUserStore<ApplicationUser>, ApplicationUserStore>();
        services.AddSingleton<IConfigureOptions<IdentityPasskeyOptions>, PasskeySetup>();
        services.AddScoped<Passkeys>();
        services.AddScoped<SignInAttempts>();
        services.AddAuthentication().AddCookie(TwoFactorLogin.Scheme);
        services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions>, CookieSetup>();
        services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Antiforgery.AntiforgeryOptions>, CookieSetup>();
        services.Configure<SecurityStampValidatorOptions>(o => o.OnRefreshingPrincipal = SessionClaims.CopyOnRefresh);

        services.AddSingleton<IConfigureOptions<Microsoft.AspNetCore.Builder.ForwardedHeadersOptions>, ForwardedHeadersSetup>();
        services.AddScoped<ConfigurationSeeder>();
        services.AddHostedService<StartupInitializer>();
        services.AddSingleton<IdentityServer.Maintenance.Cleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<IdentityServer.Maintenance.Cleanup>());
        services.AddAuthorizationBuilder().AddPolicy(IdentityServer.Admin.AdminApiAuthorization.AdminRole,
            p => p.RequireAuthenticatedUser().RequireRole(IdentityServer.Admin.AdminApiAuthorization.AdminRole));
        services.AddRazorPages(o => o.Conventions.AuthorizeFolder("/Admin", IdentityServer.Admin.AdminApiAuthorization.AdminRole));
        services.AddOptions<Microsoft.AspNetCore.Mvc.CookieTempDataProviderOptions>().Configure<IdentityServerOptions>((o, ids) =>
        {
            o.Cookie.Name = (CookieSetup.IsSecure(ids) ? "__Host-" : "") + "idsrv.tempdata";
            o.Cookie.Path = "/";
            o.Cookie.SecurePolicy = CookieSetup.IsSecure(ids) ? Microsoft.AspNetCore.Http.CookieSecurePolicy.Always : Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
        });
    }

    /// <summary>Token, userinfo, device authorization, introspection, revocation, discovery, JWKS, the admin API and the health probes: endpoints whose callers are programs.</summary>
    private static bool IsMachineEndpoint(HttpContext c) =>
        c.Request.Path.StartsWithSegments("/.well-known") || c.Request.Path.StartsWithSegments(IdentityServer.Admin.AdminApi.Prefix) || Telemetry.IsOperational(c.Request.Path)
        || (c.Request.Path.StartsWithSegments("/connect") && !c.Request.Path.StartsWithSegments("/" + OpenIddictSetup.Paths.Authorization)
            && !c.Request.Path.StartsWithSegments("/" + OpenIddictSetup.Paths.EndSession));

    private static Task WriteServerErrorAsync(HttpContext c)
    {
        OAuthHttp.NoStore(c.Response);
        c.Response.StatusCode = StatusCodes.Status500InternalServerError;
        if (c.Request.Path.StartsWithSegments(IdentityServer.Admin.AdminApi.Prefix))
            return IdentityServer.Admin.AdminProblems.WriteBareAsync(c.Response, "The server could not complete the request; the details are in its log.");
        return c.Response.WriteAsJsonAsync(new Dictionary<string, string>
        {
            ["error"] = OpenIddict.Abstractions.OpenIddictConstants.Errors.ServerError,
            ["error_description"] = "The server encountered an unexpected condition.",
        });
    }

    /// <summary>Configures middleware and maps endpoints and pages.</summary>
    public static WebApplication UsePipeline(this WebApplication app)
    {
        app.UseForwardedHeaders();
        // Security headers first, so every response has them: redirects to https, error pages and 500s included.
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseTelemetry();
        app.UseMiddleware<RequireHttpsMiddleware>();
        // Machine endpoints answer an unexpected failure with a JSON server_error (detail only in the log) and keep
        // their exact status codes; people (pages and the authorization endpoint) get readable pages.
        app.UseWhen(IsMachineEndpoint, b => b.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = WriteServerErrorAsync }));
        app.UseWhen(c => !IsMachineEndpoint(c), b => b.UseExceptionHandler("/error"));
        app.UseWhen(c => !IsMachineEndpoint(c) && !c.Request.Path.StartsWithSegments("/" + OpenIddictSetup.Paths.Authorization),
            b => b.UseStatusCodePagesWithReExecute("/error", "?status={0}"));
        // The admin API answers every error with a problem document, also those the framework produces (415, 405, 404).
        app.UseWhen(c => c.Request.Path.StartsWithSegments(IdentityServer.Admin.AdminApi.Prefix),
            b => b.UseStatusCodePages(context => IdentityServer.Admin.AdminProblems.WriteBareAsync(context.HttpContext.Response, null)));
        app.UseMiddleware<PostOnlyEndpointsMiddleware>();
        app.UseStaticFiles();
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapMethods("/" + OpenIddictSetup.Paths.Authorization, [HttpMethods.Get, HttpMethods.Post], AuthorizationEndpoint.HandleAsync).DisableAntiforgery();
        app.MapMethods("/" + OpenIddictSetup.Paths.UserInfo, [HttpMethods.Get, HttpMethods.Post], UserInfoEndpoint.HandleAsync).DisableAntiforgery();
        IdentityServer.Admin.AdminApi.MapAdminApi(app);
        app.MapOpenApi(IdentityServer.Admin.AdminApi.OpenApiPath);
        app.MapHealth();
        app.MapRazorPages();
        return app;
    }
}
