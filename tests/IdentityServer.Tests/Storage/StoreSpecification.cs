using IdentityServer.Admin;
using IdentityServer.Data;
using IdentityServer.Data.Entities;
using IdentityServer.Protocol.Clients;
using IdentityServer.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;

namespace IdentityServer.Tests.Storage;

/// <summary>
/// What the server relies on from its store, stated once and run against each provider (as ASP.NET Core Identity's specification
/// tests run one base against each of its stores): case rules, UTC timestamps, and the atomic steps that keep several nodes
/// consistent. Each subclass gives a fresh database of its provider; the server's own services (real DI, real migrations) do the work.
/// </summary>
public abstract class StoreSpecification : IAsyncLifetime
{
    private IdentityServerFactory _factory = null!;

    /// <summary>A factory on a new database of the provider under test.</summary>
    protected abstract IdentityServerFactory CreateFactory();

    public Task InitializeAsync()
    {
        _factory = CreateFactory();
        _ = _factory.Server; // starts the host: migrations applied, configuration seeded
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _factory.Dispose();
        return Task.CompletedTask;
    }

    private async Task<T> InScopeAsync<T>(Func<IServiceProvider, Task<T>> work)
    {
        using var scope = _factory.Services.CreateScope();
        return await work(scope.ServiceProvider);
    }

    [Fact]
    public async Task UserNames_CompareWithoutCase_AndStayUnique()
    {
        await InScopeAsync(async sp => (await sp.GetRequiredService<UserManager<ApplicationUser>>().CreateAsync(new ApplicationUser { UserName = "Ann.Example" }, "ann-password-1234")).Succeeded
            ? 0 : throw new InvalidOperationException("not created"));
        var found = await InScopeAsync(sp => sp.GetRequiredService<UserManager<ApplicationUser>>().FindByNameAsync("ann.EXAMPLE"));
        Assert.Equal("Ann.Example", found?.UserName);
        var duplicate = await InScopeAsync(sp => sp.GetRequiredService<UserManager<ApplicationUser>>().CreateAsync(new ApplicationUser { UserName = "ANN.EXAMPLE" }, "ann-password-1234"));
        Assert.Contains(duplicate.Errors, e => e.Code == nameof(IdentityErrorDescriber.DuplicateUserName));
        // The admin search is case-insensitive too, on either provider.
        var listed = await InScopeAsync(sp => sp.GetRequiredService<UserAdministration>().ListAsync("aNn.ex"));
        Assert.Equal(["Ann.Example"], listed.Select(u => u.UserName));
    }

    [Fact]
    public async Task ClientIds_CompareExactly()
    {
        await InScopeAsync(async sp => await sp.GetRequiredService<ClientApplicationManager>().CreateAsync(new ClientProfile
        {
            ClientId = "Api-Job", Confidential = false, Enabled = true, GrantTypes = ["authorization_code"], Scopes = ["openid"],
            RedirectUris = ["https://app.example/cb"], Source = ClientSources.Admin,
        }, null));
        Assert.NotNull(await InScopeAsync(async sp => await sp.GetRequiredService<IOpenIddictApplicationManager>().FindByClientIdAsync("Api-Job")));
        Assert.Null(await InScopeAsync(async sp => await sp.GetRequiredService<IOpenIddictApplicationManager>().FindByClientIdAsync("api-job")));
        Assert.Null(await InScopeAsync(async sp => await sp.GetRequiredService<IOpenIddictApplicationManager>().FindByClientIdAsync("API-JOB")));
    }

    [Fact]
    public async Task Timestamps_KeepTheirInstant_WhateverTheOffset_AndCompareInQueries()
    {
        var at = new DateTimeOffset(2031, 3, 4, 12, 30, 15, 123, TimeSpan.FromHours(5));
        await InScopeAsync(async sp =>
        {
            var db = sp.GetRequiredService<IdentityServerDbContext>();
            db.Leases.Add(new LeaseEntity { Name = "spec-time", Holder = "spec", ExpiresAt = at });
            return await db.SaveChangesAsync();
        });
        var stored = await InScopeAsync(sp => sp.GetRequiredService<IdentityServerDbContext>().Leases.AsNoTracking().SingleAsync(l => l.Name == "spec-time"));
        Assert.Equal(at.UtcDateTime, stored.ExpiresAt.UtcDateTime);
        Assert.Equal(TimeSpan.Zero, stored.ExpiresAt.Offset);
        // Compared in SQL, against an instant written with another offset: one millisecond either side decides.
        Assert.Equal(1, await InScopeAsync(sp => sp.GetRequiredService<IdentityServerDbContext>().Leases.CountAsync(l => l.Name == "spec-time" && l.ExpiresAt < at.ToOffset(TimeSpan.FromHours(-7)).AddMilliseconds(1))));
        Assert.Equal(0, await InScopeAsync(sp => sp.GetRequiredService<IdentityServerDbContext>().Leases.CountAsync(l => l.Name == "spec-time" && l.ExpiresAt < at.UtcDateTime.AddMilliseconds(-1))));
    }

    [Fact]
    public async Task Lease_IsTakenByOneHolder_UntilItExpires()
    {
        var now = DateTimeOffset.UtcNow;
        var takers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => InScopeAsync(sp =>
            Lease.TryTakeAsync(sp.GetRequiredService<IdentityServerDbContext>(), "spec-lease", $"node{i}", now, now.AddMinutes(5), default))));
        Assert.Equal(1, takers.Count(t => t));
        Assert.True(await InScopeAsync(sp => Lease.TryTakeAsync(sp.GetRequiredService<IdentityServerDbContext>(), "spec-lease", "later", now.AddMinutes(5), now.AddMinutes(10), default)));
    }

    [Fact]
    public async Task AttemptCounts_GiveEachConcurrentAttemptItsOwnPlace()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => InScopeAsync(sp =>
            AttemptCounts.AddAsync(sp.GetRequiredService<IdentityServerDbContext>(), "spec:count", 300, TimeProvider.System, default))));
        // Each caller learns its own place: 1 to 20, each once.
        Assert.Equal(Enumerable.Range(1, 20), results.Select(r => r.Count).Order());
        Assert.Equal(20, await InScopeAsync(sp => sp.GetRequiredService<IdentityServerDbContext>().ClientAuthenticationFailures.Where(f => f.Key == "spec:count").Select(f => f.Count).SingleAsync()));
    }

    [Fact]
    public async Task OfTheRequestsThatReadATokenAsValid_OneRedeemsIt()
    {
        var id = await InScopeAsync(async sp =>
        {
            var tokens = sp.GetRequiredService<IOpenIddictTokenManager>();
            var token = await tokens.CreateAsync(new OpenIddictTokenDescriptor
            {
                Type = OpenIddictConstants.TokenTypeIdentifiers.Private.AuthorizationCode, Status = OpenIddictConstants.Statuses.Valid, Subject = "spec",
                CreationDate = DateTimeOffset.UtcNow, ExpirationDate = DateTimeOffset.UtcNow.AddMinutes(1),
            });
            return (await tokens.GetIdAsync(token))!;
        });
        // As racing token requests do: each reads the entry while it is valid (OpenIddict's validation), then all try to redeem it.
        const int racers = 10;
        using var barrier = new Barrier(racers);
        var redeemed = await Task.WhenAll(Enumerable.Range(0, racers).Select(_ => Task.Run(() => InScopeAsync(async sp =>
        {
            var tokens = sp.GetRequiredService<IOpenIddictTokenManager>();
            var token = await tokens.FindByIdAsync(id);
            Assert.True(await tokens.HasStatusAsync(token!, OpenIddictConstants.Statuses.Valid));
            barrier.SignalAndWait(TimeSpan.FromSeconds(30));
            return await tokens.TryRedeemAsync(token!);
        }))));
        Assert.Equal(1, redeemed.Count(r => r));
    }
}

/// <summary>The specification on SQLite (a temporary file).</summary>
public sealed class SqliteStoreSpecification : StoreSpecification
{
    protected override IdentityServerFactory CreateFactory() => new() { Provider = "Sqlite" };
}

/// <summary>
/// The specification on PostgreSQL: the run's server when the suite runs on PostgreSQL, else a cluster of its own (so both providers are
/// specified in every run).
/// </summary>
public sealed class PostgreSqlStoreSpecification(PostgreSqlStoreSpecification.Server server) : StoreSpecification, IClassFixture<PostgreSqlStoreSpecification.Server>
{
    /// <summary>The PostgreSQL server for the class.</summary>
    public sealed class Server : IAsyncLifetime
    {
        private PostgresCluster? _own;
        public string BaseConnectionString { get; private set; } = "";

        public async Task InitializeAsync()
        {
            if (TestDatabase.PostgresServer is { } shared) BaseConnectionString = shared;
            else BaseConnectionString = (_own = await PostgresCluster.StartAsync()).Server;
        }

        public async Task DisposeAsync()
        {
            if (_own is not null) await _own.DisposeAsync();
        }
    }

    protected override IdentityServerFactory CreateFactory()
    {
        var name = $"idsrv_spec_{Guid.NewGuid():N}";
        // Dropped with the cluster when it is the class's own; on the run's server, like every test database.
        return new IdentityServerFactory
        {
            Provider = "PostgreSql", Database = name, OwnsDatabase = TestDatabase.PostgresServer is not null,
            ConnectionString = $"{server.BaseConnectionString};Database={name}",
        };
    }
}
