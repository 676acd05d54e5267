using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Api.Sending;
using Notifications.Tests.Infrastructure;
using Npgsql;

namespace Notifications.Tests.Delivery;

/// <summary>The app on a PostgreSQL server of its own, which the test stops and starts again.</summary>
public sealed class PrivatePostgresFixture : ServiceFixture, IAsyncLifetime
{
    public PostgresServer Server { get; private set; } = null!;

    public CapturedLogs Logs { get; } = new();

    public override string ProviderName => "Postgres";

    protected override Dictionary<string, string?> ExtraSettings() => new()
    {
        ["Outbox:LeaseSeconds"] = "2",
        ["Outbox:SweepIntervalSeconds"] = "1",
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<ILoggerProvider>(Logs);

    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        Server = await PostgresServer.StartAsync();
        var connectionString = await Server.CreateDatabaseAsync();

        // The test server trades durability for speed (synchronous_commit=off): an immediate stop would then lose
        // commits the service already confirmed. This database keeps them, as a production one must.
        await using var admin = new NpgsqlConnection(Server.AdminConnectionString);
        await admin.OpenAsync();
        var database = new NpgsqlConnectionStringBuilder(connectionString).Database;
        await using var command = new NpgsqlCommand($"ALTER DATABASE \"{database}\" SET synchronous_commit = on", admin);
        await command.ExecuteNonQueryAsync();
        return DatabaseSettings.Postgres(connectionString);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>
/// The database stops hard (pg_ctl stop -m immediate) in the middle of traffic and comes back: the service says
/// 503 and "store unavailable" meanwhile, pushes nothing it did not store, stays up, and recovers by itself.
/// </summary>
public sealed class StoreOutageTests(PrivatePostgresFixture service) : IClassFixture<PrivatePostgresFixture>
{
    [Fact]
    public async Task With_the_database_down_sends_get_503_hub_calls_fail_clearly_and_everything_recovers_without_restart()
    {
        var user = TestUsers.New("outage", 16);
        await using var hub = await service.ConnectAsync(user);
        using var sender = service.Client("admin-1", "admin");
        using var anonymous = service.Anonymous();
        var accepted = new ConcurrentBag<long>();
        var statuses = new ConcurrentBag<HttpStatusCode>();
        using var stopTraffic = new CancellationTokenSource();
        var traffic = Task.Run(() => SendUntilStoppedAsync(sender, user, accepted, statuses, stopTraffic.Token));
        await Timeouts.Eventually(() => Task.FromResult(accepted.Count >= 5), "some sends succeed before the outage");

        await service.Server.StopImmediateAsync();
        await Timeouts.Eventually(() => Task.FromResult(statuses.Contains(HttpStatusCode.ServiceUnavailable)), "a send fails with 503 during the outage");

        using var refused = await sender.PostAsJsonAsync("api/notifications", Notification(user, "during the outage"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.NotEmpty(refused.Headers.RetryAfter?.ToString() ?? string.Empty);
        using (var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
        {
            Assert.Equal(503, problem.RootElement.GetProperty("status").GetInt32());
        }

        var hubError = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<int>("GetUnreadCount"));
        Assert.Contains("store is unavailable", hubError.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => hub.SyncAsync(0));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await anonymous.GetAsync("health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("health/live")).StatusCode);

        // A connect cannot read its groups now: the server closes it, and it must not stay counted as connected.
        var latecomer = TestUsers.New("outage-late", 16);
        await using (var refusedHub = await service.ConnectAsync(latecomer))
        {
            await Timeouts.Eventually(
                () => Task.FromResult(refusedHub.Connection.State == HubConnectionState.Disconnected), "the server to close a connect it cannot serve");
        }

        var registry = service.Services.GetRequiredService<ConnectionRegistry>();
        Assert.Empty(registry.ConnectionsOf(latecomer));
        Assert.Equal(1, registry.Connections);

        await stopTraffic.CancelAsync();
        await traffic.WithTimeout(what: "the traffic to stop");
        Assert.True(
            statuses.All(s => s is HttpStatusCode.Created or HttpStatusCode.ServiceUnavailable),
            $"Statuses: {string.Join(", ", statuses.Distinct())}\n{string.Join('\n', service.Logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category}: {e.Message} {e.Exception}"))}");

        await service.Server.StartProcessAsync();
        await Timeouts.Eventually(
            async () => (await anonymous.GetAsync("health/ready")).StatusCode == HttpStatusCode.OK, "the service is ready again", TimeSpan.FromSeconds(30));

        var after = await service.SendAsync("admin-1", Notification(user, "after the outage"));
        var pushedBefore = await hub.ReceiveUntilAsync(after);
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
        // A send cut off at its commit may be stored although its caller got 503, so the inbox may hold more than
        // the accepted sends, never less; and every push the client got is in it.
        var inbox = await SyncAllAsync(hub);
        Assert.Equal(inbox.Count, await hub.InvokeAsync<int>("GetUnreadCount"));
        Assert.Subset(inbox, accepted.ToHashSet());
        Assert.Subset(inbox, pushedBefore.Select(n => n.Id).ToHashSet());
        Assert.Contains(after, inbox);
    }

    private static object Notification(string user, string title) => new { type = "test.outage", title, audience = new { users = new[] { user } } };

    private static async Task SendUntilStoppedAsync(HttpClient sender, string user, ConcurrentBag<long> accepted, ConcurrentBag<HttpStatusCode> statuses, CancellationToken stop)
    {
        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            try
            {
                using var response = await sender.PostAsJsonAsync("api/notifications", Notification(user, $"traffic {i}"), stop);
                statuses.Add(response.StatusCode);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    accepted.Add((await response.Content.ReadFromJsonAsync<SendResult>(stop))!.Id);
                }

                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
            }
        }
    }

    private static async Task<HashSet<long>> SyncAllAsync(HubClient hub)
    {
        var ids = new HashSet<long>();
        var cursor = 0L;
        while (true)
        {
            var page = await hub.SyncAsync(cursor);
            ids.UnionWith(page.Items.Select(n => n.Id));
            cursor = page.Cursor;
            if (!page.HasMore)
            {
                return ids;
            }
        }
    }
}
