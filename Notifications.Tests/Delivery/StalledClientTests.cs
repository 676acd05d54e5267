using System.Net.WebSockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// A client that keeps its connection open but stops reading fills its socket and SignalR's pipe; a write to it then
/// waits until the connection closes. The other clients keep getting pushes meanwhile, and the service closes the
/// stalled one once too many pushes wait for it. SignalR's own bound (its transport send timeout) is set to two
/// minutes here, so a push that waited for the stalled client would miss every timeout below.
/// </summary>
public abstract class StalledClientTests(DeliveryFixture service)
{
    // Pushes as big as the contract allows (body ≤ 4,000 chars, data ≤ 16 KB), sent until writes to the stalled client
    // wait: what fills its buffers varies with the kernel's socket buffer tuning (about 770 pushes, 15 MB, on the
    // development box).
    private const int MaxBroadcasts = 1500;
    private static readonly string Body = new('b', 4000);
    private static readonly string Blob = new('d', 15_000);

    public static Dictionary<string, string?> Settings => new()
    {
        ["Limits:TransportSendTimeoutSeconds"] = "120",
        ["Limits:MaxQueuedPushesPerConnection"] = "500",
        ["RateLimit:SendsPerMinute"] = "0",
    };

    [Fact]
    public async Task A_client_that_stops_reading_holds_up_no_one_and_is_closed_once_too_much_waits_for_it()
    {
        var writer = service.Services.GetRequiredService<PushWriter>();
        var reader = TestUsers.New("reader");
        var stalledUser = TestUsers.New("stalled");
        const string Team = "stalled-team";
        await using var client = await service.LongConnectAsync(reader, Team);
        var (stalled, invoker) = await RawHubSocket.ConnectWithSmallReceiveBufferAsync(service.BaseUri, DeliveryFixture.LongToken(stalledUser, Team));
        using var ownsInvoker = invoker;
        using var ownsStalled = stalled;
        using var stop = new CancellationTokenSource();
        var pings = KeepAliveAsync(stalled, stop.Token);

        // The fixture's logs are shared with the other test.
        var closedBefore = StalledClientsClosed();
        try
        {
            using var sender = service.LongClient("stalled-client-sender", "admin");
            var sent = await FillAsync(sender, writer, stalledUser, new { everyone = true });

            // Every kind: with Redis, a push to a user travels on SignalR's channel for the user, a broadcast and a push to
            // a role on the service's own. Two to the role both of them have: a role's channel that waited for the
            // stalled member's write would hold up the second.
            var mine = (await sender.SendNotificationAsync(TestUsers.Notification("to the reader while the other stalls", reader))).Id;
            var everyone = (await sender.SendNotificationAsync(new { type = "test.stalled", title = "to everyone while one stalls", audience = new { everyone = true } })).Id;
            var team = (await sender.SendNotificationAsync(new { type = "test.stalled", title = "to the team while one stalls", audience = new { roles = new[] { Team } } })).Id;
            var teamAgain = (await sender.SendNotificationAsync(new { type = "test.stalled", title = "to the team again", audience = new { roles = new[] { Team } } })).Id;
            var waiting = new HashSet<long> { mine, everyone, team, teamAgain };
            while (waiting.Count > 0)
            {
                waiting.Remove((await client.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
            }

            Assert.False(ServerClosedAStalledClientSince(closedBefore), "The stalled client was closed before the reader got its pushes.");

            // More pushes wait for it than the limit (above what the fill may have queued while the first write was
            // given its grace): the service closes it, and says so. Pushes to an audience of two parts, one write each
            // (pushes to everyone in a row may share one) through the service's own paths with or without Redis.
            var more = 0;
            for (; more < 3000 && !ServerClosedAStalledClientSince(closedBefore); more++)
            {
                await sender.SendNotificationAsync(Big($"more {more}", new { users = new[] { stalledUser }, roles = new[] { "nobody-has-it" } }));
            }

            var closes = await ClosedByServerAsync(stalled).WithTimeout(TimeSpan.FromSeconds(30), $"the server to close the connection that stopped reading ({sent} pushes to fill it, then {more})");
            Assert.True(ServerClosedAStalledClientSince(closedBefore), "The server never said it closed a client that stopped reading.");

            // A client that was only slow reads what the server sent last: nothing in it may tell the client not to
            // reconnect (a SignalR close message without allowReconnect does; SignalR clients then give up).
            Assert.All(closes, close => Assert.Contains("\"allowReconnect\":true", close, StringComparison.Ordinal));
        }
        finally
        {
            await stop.CancelAsync();
            await pings.WithTimeout(what: "the keep-alive loop to end");
        }
    }

    [Fact]
    public async Task A_tab_that_stops_reading_holds_up_no_push_to_the_other_tabs_of_its_user()
    {
        var writer = service.Services.GetRequiredService<PushWriter>();
        var user = TestUsers.New("two-tabs");

        // Only the frozen tab's token has this role, so that pushes to it fill that tab's buffers and no other's.
        const string FrozenTabRole = "frozen-tab";
        await using var reading = await service.LongConnectAsync(user);
        var (frozen, invoker) = await RawHubSocket.ConnectWithSmallReceiveBufferAsync(service.BaseUri, DeliveryFixture.LongToken(user, FrozenTabRole));
        using var ownsInvoker = invoker;
        using var ownsFrozen = frozen;
        using var stop = new CancellationTokenSource();
        var pings = KeepAliveAsync(frozen, stop.Token);

        // The fixture's logs are shared with the other test.
        var closedBefore = StalledClientsClosed();
        try
        {
            using var sender = service.LongClient("frozen-tab-sender", "admin");
            await FillAsync(sender, writer, user, new { roles = new[] { FrozenTabRole } });

            // Each push to the user goes to both tabs. With Redis, SignalR's channel for the user awaited the first one's
            // write to the frozen tab (up to the 120 s send timeout) before it wrote the next to anyone: so the read
            // receipt, and the send after it, waited that long.
            var first = (await sender.SendNotificationAsync(TestUsers.Notification("to the user while a tab is frozen", user))).Id;
            Assert.Equal(first, (await reading.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
            await reading.InvokeAsync("MarkRead", new[] { first });
            Assert.Equal([first], await reading.NextReadAsync());
            var second = (await sender.SendNotificationAsync(TestUsers.Notification("to the user again", user))).Id;
            Assert.Equal(second, (await reading.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
            Assert.False(ServerClosedAStalledClientSince(closedBefore), "The frozen tab was closed before the other tab got its pushes.");
        }
        finally
        {
            await stop.CancelAsync();
            await pings.WithTimeout(what: "the keep-alive loop to end");
        }
    }

    /// <summary>
    /// Sends big pushes to <paramref name="audience"/> until writes to <paramref name="stalledUser"/>'s connection lag,
    /// or (what the first test checks: without the service's bound) a push has waited for it for seconds; returns how
    /// many it sent. No more sends while a push waits for it: they would all queue behind it at once.
    /// </summary>
    private static async Task<int> FillAsync(HttpClient sender, PushWriter writer, string stalledUser, object audience)
    {
        var sent = 0;
        var waitedSince = (DateTime?)null;
        while (sent < MaxBroadcasts && !writer.IsLagging(stalledUser))
        {
            if (writer.IsWaitingFor(stalledUser))
            {
                waitedSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - waitedSince > TimeSpan.FromSeconds(2))
                {
                    break;
                }

                await Task.Delay(20);
                continue;
            }

            // A write may wait a moment before the buffers are full.
            waitedSince = null;
            await sender.SendNotificationAsync(Big($"big {sent++}", audience));
        }

        Assert.True(writer.IsLagging(stalledUser) || waitedSince is not null, $"{sent} big pushes never filled the stalled client's buffers.");
        return sent;
    }

    private static object Big(string title, object audience) =>
        new { type = "test.stalled", title, body = Body, data = new { blob = Blob }, audience };

    private bool ServerClosedAStalledClientSince(int closedBefore) => StalledClientsClosed() > closedBefore;

    private int StalledClientsClosed() =>
        service.Logs.Entries.Count(e => e.Level == LogLevel.Warning && e.Message.Contains("stopped reading", StringComparison.Ordinal));

    /// <summary>Pings the server so that it does not close the silent client for its 30 s timeout.</summary>
    private static async Task KeepAliveAsync(ClientWebSocket socket, CancellationToken stop)
    {
        var ping = "{\"type\":6}\u001e"u8.ToArray();
        try
        {
            while (true)
            {
                await socket.SendAsync(ping, WebSocketMessageType.Text, true, stop);
                await Task.Delay(TimeSpan.FromSeconds(5), stop);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Stopped, or the server closed the socket: nothing left to keep alive.
        }
    }

    /// <summary>Reads what the server had buffered until the socket ends, with a close frame or without.</summary>
    private static async Task<List<string>> ClosedByServerAsync(ClientWebSocket socket)
    {
        // The SignalR close messages (type 7) among the records read; only the unfinished last record is carried over.
        var closes = new List<string>();
        var carried = string.Empty;
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
                if (received.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                var records = (carried + System.Text.Encoding.UTF8.GetString(buffer, 0, received.Count)).Split('\u001e');
                carried = records[^1];
                closes.AddRange(records[..^1].Where(r => r.StartsWith("{\"type\":7", StringComparison.Ordinal)));
            }
        }
        catch (WebSocketException)
        {
            // Reset without a close frame: closed too.
        }

        return closes;
    }
}

/// <summary>Run alone: ~15 MB of pushes fill the 2 cores.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class StalledClientCollection
{
    public const string Name = "Stalled clients";
}

public sealed class SqliteStalledClientFixture : DeliveryFixture
{
    protected override bool OnPostgres => false;

    protected override Dictionary<string, string?> ExtraSettings() => StalledClientTests.Settings;
}

/// <summary>Single instance: the dispatcher writes to the connections itself.</summary>
[Collection(StalledClientCollection.Name)]
public sealed class SqliteStalledClientTests(SqliteStalledClientFixture service) : StalledClientTests(service), IClassFixture<SqliteStalledClientFixture>;

/// <summary>With Redis: broadcasts reach the connections through the broadcast channel's loop.</summary>
public sealed class RedisStalledClientFixture : RedisDeliveryFixture
{
    protected override Dictionary<string, string?> ExtraSettings() => StalledClientTests.Settings;
}

[Collection(StalledClientCollection.Name)]
public sealed class RedisStalledClientTests(RedisStalledClientFixture service) : StalledClientTests(service), IClassFixture<RedisStalledClientFixture>;
