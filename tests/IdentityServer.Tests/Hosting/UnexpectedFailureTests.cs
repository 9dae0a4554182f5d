using System.Net;
using System.Data.Common;
using IdentityServer.Data;
using IdentityServer.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace IdentityServer.Tests.Hosting;

/// <summary>An unexpected failure is a spec-shaped <c>server_error</c> for programs and a readable page for people; no detail leaks.</summary>
public sealed class UnexpectedFailureTests
{
    /// <summary>Fails every query of the client table once <see cref="Down"/> is set (after start-up, which reads it to seed).</summary>
    private sealed class BrokenClientTable : DbCommandInterceptor
    {
        public volatile bool Down;

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
            Down && command.CommandText.Contains("OpenIddictApplications", StringComparison.Ordinal)
                ? throw new InvalidOperationException("store is down: secret-detail-42")
                : base.ReaderExecutingAsync(command, eventData, result, cancellationToken);
    }

    private static IdentityServerFactory Broken()
    {
        var table = new BrokenClientTable();
        var factory = new IdentityServerFactory { ConfigureTestServices = s => s.ConfigureDbContext<IdentityServerDbContext>(o => o.AddInterceptors(table)) };
        _ = factory.Services; // starts the host: migrations and seeding run against a working table
        table.Down = true;
        return factory;
    }

    [Fact]
    public async Task TokenEndpoint_StoreThrows_500ServerErrorJson_NoDetail()
    {
        using var factory = Broken();
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.TokenAsync(new() { ["grant_type"] = "client_credentials" }, IdentityServerFactory.ServiceClient, IdentityServerFactory.ServiceSecret);
        var json = await Json.ErrorAsync(r, HttpStatusCode.InternalServerError, "server_error");
        Assert.DoesNotContain("secret-detail-42", json.ToString());
        // The exception handler cleared the response; the security headers are still on it.
        Assert.Equal("max-age=31536000", string.Join(",", r.Headers.GetValues("Strict-Transport-Security")));
        Assert.Equal("nosniff", string.Join(",", r.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task AuthorizeEndpoint_StoreThrows_500ReadablePage_NoDetail()
    {
        using var factory = Broken();
        var d = new OidcDriver(factory.CreateBrowser());
        var r = await d.AuthorizeAsync(OidcDriver.AuthorizeParameters(OidcDriver.NewVerifier()));
        Assert.Equal(HttpStatusCode.InternalServerError, r.StatusCode);
        var html = await r.Content.ReadAsStringAsync();
        Assert.Contains("Something went wrong", html);
        Assert.DoesNotContain("secret-detail-42", html);
    }
}
