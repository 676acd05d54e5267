using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// The single-instance lifetime manager with a connection whose write never completes (its client stopped reading):
/// every kind of send the dispatcher makes gives up on it after the bound and aborts it, and the others get the push.
/// </summary>
public sealed class StalledWriteTests
{
    [Theory]
    [InlineData("everyone")]
    [InlineData("users")]
    [InlineData("group")]
    [InlineData("audience")]
    public async Task A_send_gives_up_on_a_connection_whose_write_never_completes_and_aborts_it(string audience)
    {
        var clock = new SteppedClock();
        var manager = new UserIndexedHubLifetimeManager<TestHub>(
            NullLogger<DefaultHubLifetimeManager<TestHub>>.Instance, NullLogger<UserIndexedHubLifetimeManager<TestHub>>.Instance, clock);
        using var stalled = new FakeConnection("stalled", "slow-user", stalls: true);
        using var reading = new FakeConnection("reading", "reader", stalls: false);
        foreach (var connection in new[] { stalled, reading })
        {
            await manager.OnConnectedAsync(connection).WithTimeout(what: "the connect");
            await manager.AddToGroupAsync(connection.ConnectionId, "g").WithTimeout(what: "the group join");
        }

        object?[] args = [1];
        var send = audience switch
        {
            "everyone" => manager.SendAllAsync("ReceiveNotification", args),
            "users" => manager.SendUsersAsync(["slow-user", "reader"], "ReceiveNotification", args),
            "group" => manager.SendGroupAsync("g", "ReceiveNotification", args),
            _ => manager.SendToAudienceAsync(["slow-user"], ["g"], "ReceiveNotification", args),
        };

        Assert.Equal(1, reading.Writes);
        Assert.False(send.IsCompleted);
        await Timeouts.Eventually(() => Task.FromResult(clock.Waiting == 1), "the send to wait for the stalled write under its bound");
        clock.Advance(BoundedWrites.StalledAfter);
        await send.WithTimeout(what: "the send to give up on the stalled connection");
        Assert.True(stalled.Aborted);
        Assert.False(reading.Aborted);
    }

    private sealed class TestHub : Hub;

    /// <summary>A connection whose writes complete at once, or never (a client that stopped reading).</summary>
    private sealed class FakeConnection : HubConnectionContext, IDisposable
    {
        private readonly TaskCompletionSource never = new();
        private readonly bool stalls;
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
            return stalls ? new ValueTask(never.Task) : default;
        }

        public override void Abort() => Aborted = true;

        public void Dispose() => never.TrySetResult();
    }
}
