using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Tests.Infrastructure;
using Xunit.Abstractions;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// Clients that stay connected through a Redis outage, or through a partition of one instance from Redis, get the
/// pushes they missed live once Redis is back, without a Sync and without a reconnect: each instance pushes again to
/// its own connections what was sent while they may have missed it, read from the database. Two real instances (B
/// reaches Redis through a forwarder the test can cut), PostgreSQL and a real redis-server.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class OutageReplayTests(OutageReplayCluster cluster, ITestOutputHelper output) : IClassFixture<OutageReplayCluster>
{
    // Redis back, the link reconnected (0.5-2 s back-off), quiet for 2 s, then the replay: seconds; generous for a loaded box.
    private static readonly TimeSpan ReplayBound = TimeSpan.FromSeconds(30);

    private ServiceProcess A => cluster.A;

    private ServiceProcess B => cluster.B;

    [Fact]
    public async Task Clients_that_stayed_connected_through_a_Redis_outage_get_what_was_sent_through_the_other_instance_without_syncing()
    {
        await DeliveringAcrossInstancesAsync();
        var role = $"r{Guid.NewGuid():N}"[..10];
        var group = $"replay-{Guid.NewGuid():N}"[..18];
        await CreateGroupAsync(A, group, "open");
        var (user, holder, member, anyone, onB) = (TestUsers.New("user"), TestUsers.New("holder"), TestUsers.New("member"), TestUsers.New("anyone"), TestUsers.New("on-b"));
        await using var userOnA = await ConnectAsync(A, user);
        await using var holderOnA = await ConnectAsync(A, holder, role);
        await using var memberOnA = await ConnectAsync(A, member);
        await memberOnA.InvokeAsync<object>("Subscribe", group);
        await using var anyoneOnA = await ConnectAsync(A, anyone);
        await using var clientOnB = await ConnectAsync(B, onB);
        HubClient[] onA = [userOnA, holderOnA, memberOnA, anyoneOnA];
        var connectionIds = onA.Select(c => c.Connection.ConnectionId).ToList();

        long toUser, toRole, toGroup, toEveryone;
        await cluster.Redis.KillAsync();
        try
        {
            foreach (var instance in cluster.Instances)
            {
                await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.ServiceUnavailable, $"instance :{instance.Port} noticed Redis is gone");
            }

            // Through B, which can deliver to its own connections only.
            toUser = await SendAsync(B, TestUsers.Notification("to a user on A", user));
            toRole = await SendAsync(B, new { type = "ops.alert", title = "to a role", audience = new { roles = new[] { role } } });
            toGroup = await SendAsync(B, new { type = "group.news", title = "to a group", audience = new { groups = new[] { group } } });
            toEveryone = await SendAsync(B, new { type = "system.notice", title = "to everyone", audience = new { everyone = true } });
            await clientOnB.ReceiveUntilAsync(toEveryone);
        }
        finally
        {
            await cluster.Redis.StartProcessAsync();
        }

        var sinceRestart = Stopwatch.StartNew();
        await ReceivesAsync(userOnA, "the user", toUser, toEveryone);
        await ReceivesAsync(holderOnA, "the role holder", toRole, toEveryone);
        await ReceivesAsync(memberOnA, "the group member", toGroup, toEveryone);
        await ReceivesAsync(anyoneOnA, "a client of no part", toEveryone);
        output.WriteLine($"A's clients had what B sent during the outage {sinceRestart.Elapsed.TotalSeconds:0.0} s after Redis answered again.");

        // The same connections: none was closed to make them reconnect and Sync.
        Assert.All(onA, c => Assert.Equal(HubConnectionState.Connected, c.Connection.State));
        Assert.Equal(connectionIds, onA.Select(c => c.Connection.ConnectionId));
    }

    [Fact]
    public async Task When_only_one_instance_loses_Redis_both_sides_get_what_they_missed_but_not_a_group_send_from_before_they_joined()
    {
        await DeliveringAcrossInstancesAsync();
        var role = $"r{Guid.NewGuid():N}"[..10];
        var group = $"part-{Guid.NewGuid():N}"[..18];
        await CreateGroupAsync(A, group, "open");
        var (user, holder, member, late, onB) = (TestUsers.New("user"), TestUsers.New("holder"), TestUsers.New("member"), TestUsers.New("late"), TestUsers.New("on-b"));
        await using var userOnA = await ConnectAsync(A, user);
        await using var holderOnA = await ConnectAsync(A, holder, role);
        await using var memberOnA = await ConnectAsync(A, member);
        await memberOnA.InvokeAsync<object>("Subscribe", group);
        await using var lateOnA = await ConnectAsync(A, late);
        await using var clientOnB = await ConnectAsync(B, onB);
        HubClient[] all = [userOnA, holderOnA, memberOnA, lateOnA, clientOnB];
        var connectionIds = all.Select(c => c.Connection.ConnectionId).ToList();

        long toUser, toRole, beforeJoin, toEveryone, afterJoin, fromA;
        cluster.BLink!.Cut();
        try
        {
            await Timeouts.Eventually(async () => await ReadinessAsync(B) == HttpStatusCode.ServiceUnavailable, "B noticed its link to Redis is gone");
            Assert.Equal(HttpStatusCode.OK, await ReadinessAsync(A));

            // Through B: they reach B's own connections only, and A never saw an outage.
            toUser = await SendAsync(B, TestUsers.Notification("to a user on A", user));
            toRole = await SendAsync(B, new { type = "ops.alert", title = "to a role", audience = new { roles = new[] { role } } });
            beforeJoin = await SendAsync(B, new { type = "group.news", title = "before the join", audience = new { groups = new[] { group } } });
            toEveryone = await SendAsync(B, new { type = "system.notice", title = "to everyone", audience = new { everyone = true } });

            // A is linked to Redis: the join is applied there at once, and the connection stays as it is. Then a group
            // send it may see.
            await lateOnA.InvokeAsync<object>("Subscribe", group);
            afterJoin = await SendAsync(B, new { type = "group.news", title = "after the join", audience = new { groups = new[] { group } } });

            // Through A, published to Redis, which B does not hear.
            fromA = await SendAsync(A, TestUsers.Notification("to a user on B", onB));

            // B still delivers to its own connections.
            await clientOnB.ReceiveUntilAsync(toEveryone);
        }
        finally
        {
            cluster.BLink.Restore();
        }

        var sinceRestore = Stopwatch.StartNew();
        await ReceivesAsync(userOnA, "the user", toUser, toEveryone);
        await ReceivesAsync(holderOnA, "the role holder", toRole, toEveryone);
        await ReceivesAsync(memberOnA, "the group member", beforeJoin, afterJoin, toEveryone);
        await ReceivesAsync(clientOnB, "B's client", fromA);

        // A replay writes in id order, so the send from before the join would come before the one after it.
        var lateGot = await ReceivesAsync(lateOnA, "the late joiner", afterJoin, toEveryone);
        Assert.DoesNotContain(beforeJoin, lateGot);
        output.WriteLine($"Both sides had what they missed {sinceRestore.Elapsed.TotalSeconds:0.0} s after B's link was restored.");

        Assert.All(all, c => Assert.Equal(HubConnectionState.Connected, c.Connection.State));
        Assert.Equal(connectionIds, all.Select(c => c.Connection.ConnectionId));
    }

    [Fact]
    public async Task Members_who_left_or_left_and_joined_again_while_their_instance_was_cut_off_are_not_replayed_a_group_send_from_between()
    {
        await DeliveringAcrossInstancesAsync();
        var group = $"rejoin-{Guid.NewGuid():N}"[..18];
        await CreateGroupAsync(A, group, "open");
        var (member, rejoiner, leaver) = (TestUsers.New("member"), TestUsers.New("rejoiner"), TestUsers.New("leaver"));
        await using var memberOnB = await ConnectAsync(B, member);
        await using var rejoinerOnB = await ConnectAsync(B, rejoiner);
        await using var leaverOnB = await ConnectAsync(B, leaver);
        await memberOnB.InvokeAsync<object>("Subscribe", group);
        await rejoinerOnB.InvokeAsync<object>("Subscribe", group);
        await leaverOnB.InvokeAsync<object>("Subscribe", group);

        long between, afterRejoin;
        cluster.BLink!.Cut();
        try
        {
            await Timeouts.Eventually(async () => await ReadinessAsync(B) == HttpStatusCode.ServiceUnavailable, "B noticed its link to Redis is gone");

            // On A, which B does not hear: both leave, a send to the group, the rejoiner joins again, a send.
            using var rejoinerOnA = A.Client(rejoiner);
            using var leaverOnA = A.Client(leaver);
            Assert.Equal(HttpStatusCode.NoContent, (await rejoinerOnA.DeleteAsync($"api/groups/{group}/members/{rejoiner}").WithTimeout(what: "the leave")).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await leaverOnA.DeleteAsync($"api/groups/{group}/members/{leaver}").WithTimeout(what: "the other leave")).StatusCode);
            between = await SendAsync(A, new { type = "group.news", title = "while you were out", audience = new { groups = new[] { group } } });
            Assert.Equal(HttpStatusCode.NoContent, (await rejoinerOnA.PutAsync($"api/groups/{group}/members/{rejoiner}", null).WithTimeout(what: "the join")).StatusCode);
            afterRejoin = await SendAsync(A, new { type = "group.news", title = "after you came back", audience = new { groups = new[] { group } } });
        }
        finally
        {
            cluster.BLink.Restore();
        }

        // B replays both to its connections. Until B learns of the changes, the rejoiner's connection there has its first
        // join's time and the leaver's is still in the group: the replay runs the membership resync first. (The resync
        // that follows the outage usually comes first anyway, so this pins the outcome rather than that order.)
        await ReceivesAsync(memberOnB, "the member", between, afterRejoin);
        var rejoinerGot = await ReceivesAsync(rejoinerOnB, "the rejoiner", afterRejoin);
        Assert.DoesNotContain(between, rejoinerGot);

        // The leaver gets neither; a push to the leaver alone, after them, marks where they would have been.
        var marker = await SendAsync(A, TestUsers.Notification("after the replay", leaver));
        var leaverGot = await leaverOnB.ReceiveUntilAsync(marker);
        Assert.DoesNotContain(leaverGot, n => n.Id == between || n.Id == afterRejoin);
    }

    /// <summary>
    /// Reads pushes until every one of <paramref name="ids"/> came, bounded by <see cref="ReplayBound"/> in all; returns
    /// every id read meanwhile, in order.
    /// </summary>
    private static async Task<List<long>> ReceivesAsync(HubClient client, string who, params long[] ids)
    {
        var missing = ids.ToHashSet();
        var read = new List<long>();
        var clock = Stopwatch.StartNew();
        while (missing.Count > 0)
        {
            var remaining = ReplayBound - clock.Elapsed;
            if (remaining <= TimeSpan.Zero)
            {
                throw NotAllCame();
            }

            long next;
            try
            {
                next = (await client.NextNotificationAsync(remaining)).Id;
            }
            catch (TimeoutException)
            {
                throw NotAllCame();
            }

            read.Add(next);
            missing.Remove(next);
        }

        return read;

        TimeoutException NotAllCame() =>
            new($"{who} did not get {string.Join(", ", missing)} within {ReplayBound.TotalSeconds} s (got {string.Join(", ", read)}).");
    }

    /// <summary>
    /// Both instances ready and delivering to each other: a send through each reaches a client on the other (tried once
    /// a second, for a cluster still repairing after the previous test).
    /// </summary>
    private async Task DeliveringAcrossInstancesAsync()
    {
        foreach (var instance in cluster.Instances)
        {
            await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.OK, $"instance :{instance.Port} is ready", ReplayBound);
        }

        foreach (var (via, to) in new[] { (A, B), (B, A) })
        {
            var probe = TestUsers.New("probe");
            await using var client = await ConnectAsync(to, probe);
            var sent = new HashSet<long>();
            var clock = Stopwatch.StartNew();
            while (true)
            {
                sent.Add(await SendAsync(via, TestUsers.Notification("probe", probe)));
                try
                {
                    if (sent.Contains((await client.NextNotificationAsync(TimeSpan.FromSeconds(1))).Id))
                    {
                        break;
                    }
                }
                catch (TimeoutException) when (clock.Elapsed < ReplayBound)
                {
                    // Not across yet: another probe.
                }
            }
        }
    }
}
