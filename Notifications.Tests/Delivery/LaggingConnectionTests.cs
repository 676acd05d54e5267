using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// The single-instance lifetime manager with a connection whose writes do not complete (its client stopped reading):
/// every kind of push the service makes waits for it only briefly, then no longer, and closes it once too many pushes
/// wait for it; the reading connection gets every push meanwhile.
/// </summary>
public sealed class LaggingConnectionTests
{
    public static TheoryData<string> Audiences => ["everyone", "users", "group", "audience", "connections"];

    [Theory]
    [MemberData(nameof(Audiences))]
    public async Task A_push_waits_briefly_for_a_client_that_stopped_reading_then_no_longer(string audience)
    {
        var (manager, writer, clock) = Create(maxQueued: 100);
        using var stalled = new FakeConnection("stalled", "slow-user", stalls: true);
        using var reading = new FakeConnection("reading", "reader", stalls: false);
        await ConnectAsync(manager, stalled, reading);

        var first = Push(manager, audience);
        Assert.Equal(1, reading.Writes);
        Assert.False(first.IsCompleted);
        await Timeouts.Eventually(() => Task.FromResult(clock.Waiting == 1), "the push to wait for the stalled write, under its grace");
        clock.Advance(PushWriter.Grace);
        await first.WithTimeout(what: "the push to stop waiting for the stalled connection");
        Assert.Equal(1, writer.QueuedFor(stalled));

        // Lagging now: later pushes are handed to it without waiting, in order, and the reader gets each at once.
        for (var i = 2; i <= 5; i++)
        {
            var next = Push(manager, audience);
            Assert.True(next.IsCompletedSuccessfully, $"push {i} waited for the lagging connection");
            Assert.Equal(i, reading.Writes);
            Assert.Equal(i, stalled.Writes);
        }

        Assert.Equal(5, writer.QueuedFor(stalled));
        Assert.Equal(5, writer.QueuedWrites);
        Assert.False(stalled.Aborted);

        // Once it has taken what waited it is still not waited for a while (a slow client falls behind again), and
        // after that a push waits for it again.
        stalled.ReadEverything();
        await Timeouts.Eventually(() => Task.FromResult(writer.QueuedWrites == 0), "the queued writes to complete");
        stalled.StallAgain();
        Assert.True(Push(manager, audience).IsCompletedSuccessfully, "a push waited for a connection that lagged a moment ago");
        stalled.ReadEverything();
        await Timeouts.Eventually(() => Task.FromResult(writer.QueuedWrites == 0), "the queued writes to complete");
        clock.Advance(PushWriter.SlowFor);
        stalled.StallAgain();
        var after = Push(manager, audience);
        Assert.False(after.IsCompleted);
        stalled.ReadEverything();
        await after.WithTimeout(what: "the push to the connection that caught up");
        Assert.False(stalled.Aborted);
        Assert.False(reading.Aborted);
    }

    [Theory]
    [MemberData(nameof(Audiences))]
    public async Task A_client_with_more_pushes_waiting_than_the_limit_is_closed(string audience)
    {
        const int MaxQueued = 3;
        var (manager, writer, clock) = Create(MaxQueued);
        using var stalled = new FakeConnection("stalled", "slow-user", stalls: true);
        using var reading = new FakeConnection("reading", "reader", stalls: false);
        await ConnectAsync(manager, stalled, reading);

        var first = Push(manager, audience);
        await Timeouts.Eventually(() => Task.FromResult(clock.Waiting == 1), "the push to wait for the stalled write, under its grace");
        clock.Advance(PushWriter.Grace);
        await first.WithTimeout(what: "the push to stop waiting for the stalled connection");

        for (var queued = 2; queued <= MaxQueued; queued++)
        {
            Assert.True(Push(manager, audience).IsCompletedSuccessfully);
        }

        Assert.False(stalled.Aborted);
        Assert.True(Push(manager, audience).IsCompletedSuccessfully);
        Assert.True(stalled.Aborted);
        Assert.False(reading.Aborted);
        Assert.Equal(MaxQueued + 1, reading.Writes);
        Assert.Equal(MaxQueued + 1, writer.QueuedFor(stalled));
    }

    private static (UserIndexedHubLifetimeManager<TestHub> Manager, PushWriter Writer, SteppedClock Clock) Create(int maxQueued)
    {
        var clock = new SteppedClock();
        var writer = new PushWriter(Options.Create(new PushQueueOptions { MaxQueuedPushesPerConnection = maxQueued }), clock, NullLogger<PushWriter>.Instance);
        return (new UserIndexedHubLifetimeManager<TestHub>(NullLogger<DefaultHubLifetimeManager<TestHub>>.Instance, writer), writer, clock);
    }

    private static async Task ConnectAsync(UserIndexedHubLifetimeManager<TestHub> manager, params FakeConnection[] connections)
    {
        foreach (var connection in connections)
        {
            await manager.OnConnectedAsync(connection).WithTimeout(what: "the connect");
            await manager.AddToGroupAsync(connection.ConnectionId, "g").WithTimeout(what: "the group join");
        }
    }

    private static Task Push(UserIndexedHubLifetimeManager<TestHub> manager, string audience)
    {
        object?[] args = [1];
        return audience switch
        {
            "everyone" => manager.SendAllAsync("ReceiveNotification", args),
            "users" => manager.SendUsersAsync(["slow-user", "reader"], "ReceiveNotification", args),
            "group" => manager.SendGroupAsync("g", "ReceiveNotification", args),
            "connections" => manager.SendConnectionsAsync(["stalled", "reading"], "UnreadCountChanged", args),
            _ => manager.SendToAudienceAsync(["slow-user"], ["g"], null, "ReceiveNotification", args),
        };
    }

    private sealed class TestHub : Hub;

    /// <summary>A connection whose writes complete at once, or only once the test lets its client read.</summary>
    private sealed class FakeConnection : HubConnectionContext, IDisposable
    {
        private readonly Lock gate = new();
        private TaskCompletionSource unread = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool stalls;
        private int writes;

        public FakeConnection(string id, string user, bool stalls)
            : base(new DefaultConnectionContext(id), new HubConnectionContextOptions(), NullLoggerFactory.Instance)
        {
            this.stalls = stalls;
            UserIdentifier = user;
        }

        public int Writes => Volatile.Read(ref writes);

        public bool Aborted { get; private set; }

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref writes);
            lock (gate)
            {
                return stalls ? new ValueTask(unread.Task) : default;
            }
        }

        public override void Abort() => Aborted = true;

        /// <summary>Completes every write made so far; later ones complete at once.</summary>
        public void ReadEverything()
        {
            lock (gate)
            {
                stalls = false;
                unread.TrySetResult();
            }
        }

        public void StallAgain()
        {
            lock (gate)
            {
                stalls = true;
                unread = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public void Dispose() => ReadEverything();
    }
}
