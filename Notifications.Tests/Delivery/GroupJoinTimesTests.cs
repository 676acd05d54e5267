using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Which group members a notification's push reaches by the join times the single-instance lifetime manager keeps per
/// connection: who joined by its time, who is listed as a user, and which recorded time counts when several are read.
/// </summary>
public sealed class GroupJoinTimesTests
{
    private static readonly DateTime Sent = new(2026, 11, 28, 10, 0, 0, DateTimeKind.Utc);

    [Fact]
    public async Task A_group_push_reaches_members_who_joined_by_its_time_members_listed_as_users_and_members_whose_time_is_unknown()
    {
        var manager = Manager();
        var early = new CountingConnection("early", "u-early");
        var late = new CountingConnection("late", "u-late");
        var listed = new CountingConnection("listed", "u-listed");
        var unknown = new CountingConnection("unknown", "u-unknown");
        await JoinAsync(manager, early, Sent.AddSeconds(-1));
        await JoinAsync(manager, late, Sent.AddTicks(10));
        await JoinAsync(manager, listed, Sent.AddSeconds(1));
        await JoinAsync(manager, unknown, DateTime.MinValue);

        await manager.SendToAudienceAsync(["u-listed"], ["g"], Sent, "ReceiveNotification", [1]).WithTimeout(what: "the group push");
        Assert.Equal([1, 0, 1, 1], [early.Writes, late.Writes, listed.Writes, unknown.Writes]);

        // Without a time (a retraction, a push that is not a notification's), every member gets it.
        await manager.SendToAudienceAsync([], ["g"], null, "NotificationRetracted", [1]).WithTimeout(what: "the push without a time");
        Assert.Equal([2, 1, 2, 2], [early.Writes, late.Writes, listed.Writes, unknown.Writes]);
    }

    [Fact]
    public async Task A_time_read_under_the_hold_replaces_the_recorded_one_and_one_read_without_only_an_earlier_one()
    {
        var manager = Manager();
        var member = new CountingConnection("member", "u-member");
        await JoinAsync(manager, member, Sent.AddSeconds(1));

        // Read before a rejoin recorded since (the connect's first read): the newer time stays, the push is held back.
        manager.JoinedAt("member", "g", Sent.AddSeconds(-5), readUnderHold: false);
        await manager.SendToAudienceAsync([], ["g"], Sent, "ReceiveNotification", [1]).WithTimeout(what: "the first push");
        Assert.Equal(0, member.Writes);

        // Read fresh under the hold, from a rejoin stamped by an instance whose clock is behind: it replaces the time.
        manager.JoinedAt("member", "g", Sent.AddSeconds(-2), readUnderHold: true);
        await manager.SendToAudienceAsync([], ["g"], Sent, "ReceiveNotification", [2]).WithTimeout(what: "the second push");
        Assert.Equal(1, member.Writes);

        // Not known (the store down, an event from an earlier version): the time is forgotten, the member gets every push.
        manager.JoinedAt("member", "g", Sent.AddSeconds(30), readUnderHold: true);
        manager.JoinedAt("member", "g", DateTime.MinValue, readUnderHold: true);
        await manager.SendToAudienceAsync([], ["g"], Sent, "ReceiveNotification", [3]).WithTimeout(what: "the third push");
        Assert.Equal(2, member.Writes);
    }

    private static UserIndexedHubLifetimeManager<TestHub> Manager() => new(
        NullLogger<DefaultHubLifetimeManager<TestHub>>.Instance,
        new PushWriter(Options.Create(new PushQueueOptions()), new SteppedClock(), NullLogger<PushWriter>.Instance));

    private static async Task JoinAsync(UserIndexedHubLifetimeManager<TestHub> manager, CountingConnection connection, DateTime joinedAt)
    {
        await manager.OnConnectedAsync(connection).WithTimeout(what: "the connect");
        manager.JoinedAt(connection.ConnectionId, "g", joinedAt, readUnderHold: true);
        await manager.AddToGroupAsync(connection.ConnectionId, "g").WithTimeout(what: "the group join");
    }

    private sealed class TestHub : Hub;

    /// <summary>A connection whose writes complete at once and are counted.</summary>
    private sealed class CountingConnection : HubConnectionContext
    {
        private int writes;

        public CountingConnection(string id, string user)
            : base(new DefaultConnectionContext(id), new HubConnectionContextOptions(), NullLoggerFactory.Instance)
        {
            UserIdentifier = user;
        }

        public int Writes => Volatile.Read(ref writes);

        public override ValueTask WriteAsync(SerializedHubMessage message, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref writes);
            return default;
        }
    }
}
