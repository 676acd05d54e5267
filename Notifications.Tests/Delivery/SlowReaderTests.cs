using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// A client that keeps its connection alive but stops reading (a frozen tab, a blocked handler) fills its socket and
/// SignalR's pipe, and a write to it then stalls until the connection is closed: the service closes it after its own
/// bound, and the other clients keep getting pushes.
/// </summary>
public abstract class SlowReaderTests(DeliveryFixture service)
{
    // Pushes as big as the contract allows (body ≤ 4,000 chars, data ≤ 16 KB), sent until the server gives up on the
    // client that stopped reading: what fills its buffers varies with the kernel's socket buffer tuning (about 770
    // pushes, 15 MB, on the development box). Without the service's bound, SignalR's transport send timeout closes the
    // connection 10 s later and the pushes below arrive then too; only the service's warning tells the two apart.
    private const int MaxBroadcasts = 1500;
    private static readonly string Body = new('b', 4000);
    private static readonly string Blob = new('d', 15_000);

    [Fact]
    public async Task A_client_that_stops_reading_is_closed_and_the_others_keep_getting_pushes()
    {
        var reader = TestUsers.New("reader");
        await using var client = await service.LongConnectAsync(reader);
        var (stalled, invoker) = await RawHubSocket.ConnectWithSmallReceiveBufferAsync(service.BaseUri, DeliveryFixture.LongToken(TestUsers.New("stalled")));
        using var ownsInvoker = invoker;
        using var ownsStalled = stalled;
        using var stop = new CancellationTokenSource();
        var pings = KeepAliveAsync(stalled, stop.Token);
        try
        {
            using var sender = service.LongClient("slow-reader-sender", "admin");
            var sent = 0;
            while (sent < MaxBroadcasts && !ServerGaveUpOnAClient())
            {
                await sender.SendNotificationAsync(new { type = "test.slow", title = $"big {sent++}", body = Body, data = new { blob = Blob }, audience = new { everyone = true } });
            }

            // Both kinds: with Redis, a push to a user travels on SignalR's user channel, a broadcast on the service's own.
            var mine = (await sender.SendNotificationAsync(TestUsers.Notification("to the reader after the stall", reader))).Id;
            var last = (await sender.SendNotificationAsync(new { type = "test.slow", title = "to everyone after the stall", audience = new { everyone = true } })).Id;
            var waiting = new HashSet<long> { mine, last };
            while (waiting.Count > 0)
            {
                waiting.Remove((await client.NextNotificationAsync(TimeSpan.FromSeconds(30))).Id);
            }

            await ClosedByServerAsync(stalled).WithTimeout(TimeSpan.FromSeconds(30), "the server to close the connection that stopped reading");
            Assert.True(ServerGaveUpOnAClient(), "The server never logged that it gave up on a client that stopped reading.");
        }
        finally
        {
            await stop.CancelAsync();
            await pings.WithTimeout(what: "the keep-alive loop to end");
        }
    }

    private bool ServerGaveUpOnAClient() => service.Logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("stopped reading", StringComparison.Ordinal));

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
    private static async Task ClosedByServerAsync(ClientWebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while ((await socket.ReceiveAsync(buffer, CancellationToken.None)).MessageType != WebSocketMessageType.Close)
            {
            }
        }
        catch (WebSocketException)
        {
            // Reset without a close frame: closed too.
        }
    }
}

/// <summary>
/// Run alone, after the parallel tests: ~15 MB of pushes fill the 2 cores, and a reading client starved of CPU for
/// longer than the bound is, rightly, treated as one that stopped reading.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SlowReaderCollection
{
    public const string Name = "Slow readers";
}

public sealed class SqliteSlowReaderFixture : DeliveryFixture
{
    protected override bool OnPostgres => false;
}

/// <summary>Single instance: the dispatcher writes to the connections itself.</summary>
[Collection(SlowReaderCollection.Name)]
public sealed class SqliteSlowReaderTests(SqliteSlowReaderFixture service) : SlowReaderTests(service), IClassFixture<SqliteSlowReaderFixture>;

/// <summary>
/// The service in this process on a real redis-server of its own: broadcasts reach the connections through the
/// broadcast channel's loop.
/// </summary>
public sealed class RedisDeliveryFixture : DeliveryFixture, IAsyncLifetime
{
    private RedisServer? redis;

    protected override bool OnPostgres => false;

    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        var settings = await base.DatabaseSettingsAsync();
        redis = await RedisServer.StartAsync();
        settings["Redis:Configuration"] = redis.Configuration;
        return settings;
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (redis is not null)
        {
            await redis.DisposeAsync();
        }
    }
}

[Collection(SlowReaderCollection.Name)]
public sealed class RedisSlowReaderTests(RedisDeliveryFixture service) : SlowReaderTests(service), IClassFixture<RedisDeliveryFixture>;
