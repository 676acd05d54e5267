using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;
using SignalRRedisOptions = Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// The Redis scale-out manager in process, over a real redis-server, with connections that record what is written to
/// them: what it writes to this instance's connections, and in which order, with Redis up and down.
/// </summary>
public sealed class LocalFallbackTests : IAsyncLifetime
{
    private const string User = "tab-user";
    private const string Group = "g:team";

    private RedisServer redis = null!;

    public static TheoryData<string> Paths => ["everyone", "user", "group", "audience"];

    public async Task InitializeAsync() => redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task A_push_that_cannot_be_published_is_written_after_the_pushes_still_waiting_in_the_loop(string path)
    {
        // The push writer's clock stands still: its wait for the stalled connection holds the loop until the test moves it.
        var clock = new SteppedClock();
        await using var instance = Instance.Create(redis, clock);
        using var stalled = new RecordingConnection("stalled", User, stalls: true);
        using var reading = new RecordingConnection("reading", User, stalls: false);
        await instance.ConnectAsync(stalled, reading);
        await Timeouts.Eventually(() => Task.FromResult(instance.Manager.IsListening), "the instance's own channels to be subscribed");

        // The first comes back through Redis and is written; the second comes back and waits in the loop behind it.
        await Push(instance.Manager, path, "ReceiveNotification", 1).WithTimeout(what: "the first push");
        await Timeouts.Eventually(() => Task.FromResult(clock.Waiting == 1), "the loop to wait for the stalled connection, under its grace");
        await Push(instance.Manager, path, "ReceiveNotification", 2).WithTimeout(what: "the second push");
        await Timeouts.Eventually(() => Task.FromResult(instance.Manager.PendingPushes == 1), "the second push to wait in the loop");

        // Then Redis is gone: the retraction of the first cannot be published, and must not overtake the second.
        await redis.KillAsync();
        await Timeouts.Eventually(() => Task.FromResult(!instance.Redis.IsAvailable), "the instance to notice Redis is gone");
        var retraction = Push(instance.Manager, path, "NotificationRetracted", 1);
        clock.Advance(PushWriter.Grace);
        await retraction.WithTimeout(what: "the retraction");

        await Timeouts.Eventually(() => Task.FromResult(reading.Received.Count == 3), "the reading connection to get all three pushes");
        Assert.Equal(["ReceiveNotification 1", "ReceiveNotification 2", "NotificationRetracted 1"], reading.Received);
        Assert.Equal(reading.Received, stalled.Received);
    }

    [Fact]
    public async Task A_connection_made_while_Redis_was_down_gets_pushes_to_its_user_and_group_once_Redis_is_back()
    {
        await redis.KillAsync();
        await using var instance = Instance.Create(redis, TimeProvider.System);
        using var late = new RecordingConnection("late", User, stalls: false);
        await instance.ConnectAsync(late);
        Assert.False(instance.Manager.IsSettled);

        await redis.StartProcessAsync();
        await Timeouts.Eventually(
            () => Task.FromResult(instance.Redis.IsAvailable && instance.Manager.IsListening), "the instance's own channels to be subscribed", TimeSpan.FromSeconds(30));

        // The Redis manager does not know the connection (the repair will close it): the service's own channel reaches
        // it from this instance's record.
        await instance.Manager.SendUserAsync(User, "ReceiveNotification", [1]).WithTimeout(what: "the push to the user");
        await instance.Manager.SendGroupAsync(Group, "ReceiveNotification", [2]).WithTimeout(what: "the push to the group");
        await Timeouts.Eventually(() => Task.FromResult(late.Received.Count(r => r.StartsWith("ReceiveNotification", StringComparison.Ordinal)) == 2), "both pushes");
        Assert.Equal(["ReceiveNotification 1", "ReceiveNotification 2"], late.Received.Where(r => r.StartsWith("ReceiveNotification", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task An_instance_cut_off_from_Redis_asks_for_replays_of_what_it_missed_and_of_what_it_could_not_publish_once_back()
    {
        // Two instances of one cluster (one channel prefix); B reaches Redis through a link the test cuts, A directly.
        var prefix = $"test-{Guid.NewGuid():N}";
        await using var link = new TcpForwarder(redis.Port);
        await using var a = Instance.Create(redis.Configuration, prefix, TimeProvider.System);
        await using var b = Instance.Create(RedisServer.ConfigurationVia(link.Port), prefix, TimeProvider.System);
        var askedOfA = new ConcurrentQueue<MissedWindow>();
        var askedOfB = new ConcurrentQueue<MissedWindow>();
        a.Manager.OnReplayRequested(window => Record(askedOfA, window));
        b.Manager.OnReplayRequested(window => Record(askedOfB, window));
        await Timeouts.Eventually(
            () => Task.FromResult(a.Manager.IsListening && a.Manager.IsSettled && b.Manager.IsListening && b.Manager.IsSettled),
            "both instances' channels to be up", TimeSpan.FromSeconds(30));

        var cutAt = DateTime.UtcNow;
        link.Cut();
        // Not settled from the link's failure on (the event may come a moment after the link reads as down).
        await Timeouts.Eventually(() => Task.FromResult(!b.Redis.IsAvailable && !b.Manager.IsSettled), "B to notice its link is gone");
        await b.Manager.SendUserAsync(User, "ReceiveNotification", [1]).WithTimeout(what: "a push B cannot publish");
        var pushedAt = DateTime.UtcNow;
        Assert.True(a.Manager.IsSettled);
        Assert.Empty(askedOfA);

        link.Restore();
        var restoredAt = DateTime.UtcNow;
        await Timeouts.Eventually(
            () => Task.FromResult(b.Manager.IsSettled && !askedOfA.IsEmpty && askedOfB.Count >= 2), "the replays to be asked for", TimeSpan.FromSeconds(30));
        await Task.Delay(Timeouts.Absence);

        // A never lost its link: it is asked once, by B's notice, for the window since B's push could not be published.
        var margin = LocalFallbackHubLifetimeManager<TestHub>.ReplayMargin;
        var notice = Assert.Single(askedOfA);
        Assert.InRange(notice.From, cutAt - margin, pushedAt - margin);
        Assert.InRange(notice.To, restoredAt, DateTime.UtcNow);

        // B is asked for the window since its link failed (for itself), and hears its own notice.
        Assert.Contains(notice, askedOfB);
        var own = Assert.Single(askedOfB, window => window != notice);
        Assert.InRange(own.From, cutAt - margin, pushedAt - margin);
        Assert.InRange(own.To, restoredAt, DateTime.UtcNow);

        static Task Record(ConcurrentQueue<MissedWindow> asked, MissedWindow window)
        {
            asked.Enqueue(window);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task A_user_or_group_whose_last_connection_leaves_is_dropped_from_the_index()
    {
        await using var instance = Instance.Create(redis, TimeProvider.System);
        using var first = new RecordingConnection("first", User, stalls: false);
        using var second = new RecordingConnection("second", User, stalls: false);
        await instance.ConnectAsync(first, second);
        Assert.Equal((1, 1), instance.Manager.IndexedKeys);

        await instance.Manager.OnDisconnectedAsync(first).WithTimeout(what: "the first disconnect");
        Assert.Equal((1, 1), instance.Manager.IndexedKeys);
        await instance.Manager.RemoveFromGroupAsync(second.ConnectionId, Group).WithTimeout(what: "the group leave");
        Assert.Equal((1, 0), instance.Manager.IndexedKeys);
        await instance.Manager.OnDisconnectedAsync(second).WithTimeout(what: "the second disconnect");
        Assert.Equal((0, 0), instance.Manager.IndexedKeys);
    }

    private static Task Push(LocalFallbackHubLifetimeManager<TestHub> manager, string path, string method, long argument)
    {
        object?[] args = [argument];
        return path switch
        {
            "everyone" => manager.SendAllAsync(method, args),
            "user" => manager.SendUserAsync(User, method, args),
            "group" => manager.SendGroupAsync(Group, method, args),
            _ => manager.SendToAudienceAsync([User], [Group], null, method, args),
        };
    }

    public sealed class TestHub : Hub;

    /// <summary>One instance's manager, built as the app builds it, over its own Redis connection.</summary>
    private sealed class Instance : IAsyncDisposable
    {
        private readonly ServiceProvider services;

        private Instance(ServiceProvider services)
        {
            this.services = services;
            Manager = ActivatorUtilities.CreateInstance<LocalFallbackHubLifetimeManager<TestHub>>(services);
        }

        public LocalFallbackHubLifetimeManager<TestHub> Manager { get; }

        public RedisConnection Redis => services.GetRequiredService<RedisConnection>();

        public PushWriter Writer => services.GetRequiredService<PushWriter>();

        /// <summary><paramref name="writerClock"/> drives the push writer only; the manager and its channels run on the system clock.</summary>
        public static Instance Create(RedisServer redis, TimeProvider writerClock) => Create(redis.Configuration, $"test-{Guid.NewGuid():N}", writerClock);

        /// <summary>An instance of the cluster whose channels start with <paramref name="prefix"/>.</summary>
        public static Instance Create(string redisConfiguration, string prefix, TimeProvider writerClock)
        {
            var services = new ServiceCollection();
            services.AddLogging();
            services.AddSignalR();
            services.AddSingleton(new RedisConnection(redisConfiguration, prefix, NullLogger<RedisConnection>.Instance));
            services.AddOptions<SignalRRedisOptions>().Configure<RedisConnection>((options, connection) =>
                options.ConnectionFactory = _ => Task.FromResult(connection.Multiplexer));
            services.AddSingleton(TimeProvider.System);
            services.AddSingleton(new PushWriter(Options.Create(new PushQueueOptions { MaxQueuedPushesPerConnection = 100 }), writerClock, NullLogger<PushWriter>.Instance));
            return new Instance(services.BuildServiceProvider());
        }

        public async Task ConnectAsync(params RecordingConnection[] connections)
        {
            foreach (var connection in connections)
            {
                await Manager.OnConnectedAsync(connection).WithTimeout(what: "the connect");
                await Manager.AddToGroupAsync(connection.ConnectionId, Group).WithTimeout(what: "the group join");
            }
        }

        public async ValueTask DisposeAsync()
        {
            Manager.Dispose();
            Redis.Dispose();
            await services.DisposeAsync();
        }
    }

    /// <summary>A connection that records what is written to it (target and first argument); its writes may never complete.</summary>
    private sealed class RecordingConnection : HubConnectionContext, IDisposable
    {
        private static readonly JsonHubProtocol Json = new();
        private readonly TaskCompletionSource unread = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> received = new();
        private readonly bool stalls;

        public RecordingConnection(string id, string user, bool stalls)
            : base(new DefaultConnectionContext(id), new HubConnectionContextOptions(), NullLoggerFactory.Instance)
        {
            this.stalls = stalls;
            UserIdentifier = user;
            Protocol = Json;
        }

        /// <summary>One entry per hub message, as "Target argument" (several pushes written at once are several entries).</summary>
        public IReadOnlyList<string> Received => [.. received];

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            foreach (var record in Encoding.UTF8.GetString(message.GetSerializedMessage(Json).Span).Split('\u001e', StringSplitOptions.RemoveEmptyEntries))
            {
                using var json = JsonDocument.Parse(record);
                var root = json.RootElement;
                received.Enqueue(root.TryGetProperty("target", out var target)
                    ? $"{target.GetString()} {root.GetProperty("arguments")[0]}"
                    : $"type {root.GetProperty("type")}");
            }

            return stalls ? new ValueTask(unread.Task) : default;
        }

        public override ValueTask WriteAsync(HubMessage message, CancellationToken cancellationToken = default)
        {
            received.Enqueue(message.GetType().Name);
            return default;
        }

        public override void Abort()
        {
            // Recorded by the close message the repair writes first; nothing here reads from the connection.
        }

        public void Dispose() => unread.TrySetResult();
    }
}
