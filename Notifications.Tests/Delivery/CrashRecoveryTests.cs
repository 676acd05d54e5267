using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Inbox;
using Notifications.Tests.Infrastructure;
using Npgsql;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Persisted before pushed, shown with real API processes on PostgreSQL: a process killed with SIGKILL after it
/// committed sends but before it pushed them leaves outbox entries that another process pushes once their lease runs out.
/// </summary>
public sealed class CrashRecoveryTests
{
    // The restarted instance sweeps only after this long, so the test's client is surely connected by then.
    private const string RestartSweepIntervalSeconds = "8";

    private static Dictionary<string, string?> Settings(string connectionString, bool holdPushes, string sweepIntervalSeconds = RestartSweepIntervalSeconds) => DatabaseSettings.Postgres(connectionString, new()
    {
        ["Outbox:FaultHoldPushes"] = holdPushes ? "true" : "false",
        // The crashing process's entries expire at once; a sweeper's claim lasts long enough that no other
        // instance re-claims it while it pushes, even on a busy machine.
        ["Outbox:LeaseSeconds"] = holdPushes ? "1" : "15",
        ["Outbox:SweepIntervalSeconds"] = sweepIntervalSeconds,
    });

    [Fact]
    public async Task A_send_committed_by_a_process_killed_before_its_push_is_pushed_after_restart_and_was_in_the_inbox_all_along()
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var user = TestUsers.New("crash", 16);
        long id;
        long retracted;
        await using (var crashing = new ServiceProcess(Settings(connectionString, holdPushes: true)))
        {
            await crashing.StartAsync();
            using var sender = crashing.Client("admin-1", "admin");
            id = await SendAsync(sender, user, "committed, not pushed");
            retracted = await SendAsync(sender, user, "committed, then retracted, never pushed");
            Assert.Equal(HttpStatusCode.NoContent, (await sender.DeleteAsync($"api/notifications/{retracted}")).StatusCode);

            using var reader = crashing.Client(user);
            Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"api/notifications/{id}")).StatusCode);
            Assert.Equal([id], (await reader.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0"))!.Items.Select(n => n.Id));
            await crashing.KillAsync();
        }

        Assert.Equal([id, retracted, retracted], (await OutboxAsync(connectionString)).Where(e => e.Unclaimed).Select(e => e.NotificationId));

        await using var restarted = new ServiceProcess(Settings(connectionString, holdPushes: false));
        await restarted.StartAsync();
        await using var hub = await restarted.ConnectAsync(user);
        Assert.True(
            (await OutboxAsync(connectionString)).All(e => e.Unclaimed),
            $"The restarted process took over before the client connected (sweep interval {RestartSweepIntervalSeconds} s too short for this machine).");

        var pushed = await hub.NextNotificationAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(id, pushed.Id);
        Assert.Equal(retracted, await hub.NextRetractionAsync());

        // The sweep pushes in entry order: had the retracted send been pushed, it would have come before its retraction.
        Assert.False(hub.HasPendingNotification);
        await Timeouts.Eventually(async () => (await OutboxAsync(connectionString)).Count == 0, "the outbox entries are completed");
        using var http = restarted.Client(user);
        Assert.Equal([id], (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0"))!.Items.Select(n => n.Id));
    }

    [Fact]
    public async Task Broadcasts_a_sweep_takes_over_together_reach_each_client_in_order_in_one_socket_write()
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var user = TestUsers.New("burst", 16);
        long first, retracted, last;
        await using (var crashing = new ServiceProcess(Settings(connectionString, holdPushes: true)))
        {
            await crashing.StartAsync();
            using var sender = crashing.Client("admin-1", "admin");
            first = await BroadcastAsync(sender, "first");
            retracted = await BroadcastAsync(sender, "retracted before its push");
            last = await BroadcastAsync(sender, "last");
            Assert.Equal(HttpStatusCode.NoContent, (await sender.DeleteAsync($"api/notifications/{retracted}")).StatusCode);
            await crashing.KillAsync();
        }

        var settings = Settings(connectionString, holdPushes: false);
        settings["Hub:MessagePack"] = "true";
        await using var restarted = new ServiceProcess(settings);
        await restarted.StartAsync();
        await using var json = await restarted.ConnectAsync(user);
        var packedPushes = Channel.CreateUnbounded<string>();
        await using var packed = HubClient.Builder(restarted.BaseUri, () => TestTokens.For(user)).AddMessagePackProtocol().Build();
        packed.On<Dictionary<object, object>>("ReceiveNotification", n => packedPushes.Writer.TryWrite($"notification {n["id"]}"));
        packed.On<long>("NotificationRetracted", id => packedPushes.Writer.TryWrite($"retraction {id}"));
        await packed.StartAsync().WithTimeout(what: "the MessagePack connection to start");
        using var raw = await RawHubSocket.ConnectAsync(restarted.BaseUri, TestTokens.For(user));
        Assert.True(
            (await OutboxAsync(connectionString)).All(e => e.Unclaimed),
            $"The restarted process took over before the clients connected (sweep interval {RestartSweepIntervalSeconds} s too short for this machine).");

        // The sweep claims the four entries at once; the retracted send is no longer owed, its retraction is.
        string[] expected = [$"notification {first}", $"notification {last}", $"retraction {retracted}"];
        Assert.Equal(expected, await PushesInOneMessageAsync(raw));
        Assert.Equal(first, (await json.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
        Assert.Equal(last, (await json.NextNotificationAsync()).Id);
        Assert.Equal(retracted, await json.NextRetractionAsync());
        foreach (var push in expected)
        {
            Assert.Equal(push, await packedPushes.Reader.ReadAsync().AsTask().WithTimeout(what: "a push over MessagePack"));
        }
    }

    private static async Task<long> BroadcastAsync(HttpClient sender, string title) =>
        (await sender.SendNotificationAsync(new { type = "test.burst", title, audience = new { everyone = true } })).Id;

    /// <summary>The pushes in the first WebSocket message that holds any, with the pings around them left out.</summary>
    private static async Task<string[]> PushesInOneMessageAsync(ClientWebSocket socket)
    {
        while (true)
        {
            var records = (await RawHubSocket.ReceiveMessageAsync(socket, TimeSpan.FromSeconds(30))).Split('\u001e', StringSplitOptions.RemoveEmptyEntries)
                .Select(record => JsonDocument.Parse(record).RootElement)
                .Where(record => record.GetProperty("type").GetInt32() == 1)
                .ToArray();
            if (records.Length > 0)
            {
                return records.Select(record => record.GetProperty("target").GetString() switch
                {
                    "ReceiveNotification" => $"notification {record.GetProperty("arguments")[0].GetProperty("id").GetInt64()}",
                    "NotificationRetracted" => $"retraction {record.GetProperty("arguments")[0].GetInt64()}",
                    var other => $"unexpected {other}",
                }).ToArray();
            }
        }
    }

    [Fact]
    public async Task A_group_push_taken_over_late_skips_members_who_joined_after_it_was_sent()
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var group = $"crash-{Guid.NewGuid():N}"[..16];
        var (early, late) = (TestUsers.New("early", 16), TestUsers.New("late", 16));
        long id;
        await using (var crashing = new ServiceProcess(Settings(connectionString, holdPushes: true)))
        {
            await crashing.StartAsync();
            using var admin = crashing.Client("admin-1", "admin");
            await admin.CreateGroupAsync(group, "restricted");
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{early}", null).WithTimeout()).StatusCode);
            id = (await admin.SendNotificationAsync(new { type = "test.crash", title = "to the group", audience = new { groups = new[] { group } } })).Id;
            await Task.Delay(TimeSpan.FromMilliseconds(20));
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{late}", null).WithTimeout()).StatusCode);
            await crashing.KillAsync();
        }

        await using var restarted = new ServiceProcess(Settings(connectionString, holdPushes: false));
        await restarted.StartAsync();
        await using var earlyHub = await restarted.ConnectAsync(early);
        await using var lateHub = await restarted.ConnectAsync(late);
        Assert.True(
            (await OutboxAsync(connectionString)).All(e => e.Unclaimed),
            $"The restarted process took over before the clients connected (sweep interval {RestartSweepIntervalSeconds} s too short for this machine).");

        Assert.Equal(id, (await earlyHub.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
        var marker = await restarted.SendAsync("admin-1", new { type = "test.crash", title = "marker", audience = new { users = new[] { late } } });
        Assert.Empty(await lateHub.ReceiveUntilAsync(marker));
        using var lateHttp = restarted.Client(late);
        Assert.Equal(HttpStatusCode.NotFound, (await lateHttp.GetAsync($"api/notifications/{id}").WithTimeout()).StatusCode);
    }

    private static async Task<long> SendAsync(HttpClient sender, string user, string title) =>
        (await sender.SendNotificationAsync(new { type = "test.crash", title, audience = new { users = new[] { user } } })).Id;

    [Fact]
    public async Task Two_instances_sweeping_the_same_orphaned_entries_push_each_one_once()
    {
        const int Orphans = 40;
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var user = TestUsers.New("orphan", 16);

        // Two healthy instances with a client each, up before the orphans exist, so every push they make is seen.
        await using var second = new ServiceProcess(Settings(connectionString, holdPushes: false, sweepIntervalSeconds: "1"));
        await using var third = new ServiceProcess(Settings(connectionString, holdPushes: false, sweepIntervalSeconds: "1"));
        var hubs = await Task.WhenAll(StartAndConnectAsync(second, user), StartAndConnectAsync(third, user)).WithTimeout(TimeSpan.FromSeconds(120), "two instances");
        await using var secondHub = hubs[0];
        await using var thirdHub = hubs[1];

        var ids = new List<long>();
        await using (var crashing = new ServiceProcess(Settings(connectionString, holdPushes: true)))
        {
            await crashing.StartAsync();
            using var sender = crashing.Client("admin-1", "admin");
            for (var i = 0; i < Orphans; i++)
            {
                ids.Add((await sender.SendNotificationAsync(new { type = "test.orphan", title = $"orphan {i}", audience = new { users = new[] { user } } })).Id);
            }

            await crashing.KillAsync();
        }

        await Timeouts.Eventually(async () => (await OutboxAsync(connectionString)).Count == 0, "the two instances' sweeps completed every entry", TimeSpan.FromSeconds(60));

        // Each instance pushes only to its own connections; a sentinel sent through each, after the outbox is
        // empty, arrives after every push that instance made.
        var received = new List<long>();
        foreach (var (instance, hub) in new[] { (second, secondHub), (third, thirdHub) })
        {
            var sentinel = await instance.SendAsync("admin-1", new { type = "test.sentinel", title = "sentinel", audience = new { users = new[] { user } } });
            received.AddRange((await hub.ReceiveUntilAsync(sentinel)).Select(n => n.Id));
        }

        var orphanPushes = received.Where(ids.Contains).ToList();
        Assert.Equal(ids, orphanPushes.Distinct().Order());
        var duplicates = orphanPushes.Count - Orphans;
        Assert.True(duplicates <= 2, $"{duplicates} duplicate pushes for {Orphans} orphaned entries");
    }

    [Fact]
    public async Task Instances_starting_together_on_a_new_database_all_start_and_apply_each_migration_once()
    {
        var connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var instances = Enumerable.Range(0, 3).Select(_ => new ServiceProcess(Settings(connectionString, holdPushes: false))).ToList();
        try
        {
            await Task.WhenAll(instances.Select(i => i.StartAsync())).WithTimeout(TimeSpan.FromSeconds(120), "three instances starting together");

            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync().WithTimeout(what: "a database connection");
            await using var command = new NpgsqlCommand("""SELECT count(*), count(DISTINCT "MigrationId") FROM "__EFMigrationsHistory" """, connection);
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetInt64(0) >= 2, "every migration is recorded");
            Assert.Equal(reader.GetInt64(1), reader.GetInt64(0));
        }
        finally
        {
            foreach (var instance in instances)
            {
                await instance.DisposeAsync();
            }
        }
    }

    private sealed record OutboxRow(long NotificationId, string? LeasedBy)
    {
        // The sending instance leases under its plain id; a sweep's claim adds ":<claim>".
        public bool Unclaimed => LeasedBy is null || !LeasedBy.Contains(':', StringComparison.Ordinal);
    }

    private static async Task<List<OutboxRow>> OutboxAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync().WithTimeout(what: "a database connection");
        await using var command = new NpgsqlCommand("""SELECT "NotificationId", "LeasedBy" FROM "Outbox" ORDER BY "NotificationId" """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<OutboxRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new OutboxRow(reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1)));
        }

        return rows;
    }

    private static async Task<HubClient> StartAndConnectAsync(ServiceProcess process, string user)
    {
        await process.StartAsync();
        return await process.ConnectAsync(user);
    }
}
