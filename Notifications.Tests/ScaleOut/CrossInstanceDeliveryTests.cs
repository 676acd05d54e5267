using System.Net;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Tests.Infrastructure;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// Two API processes share one Redis and one PostgreSQL database: whatever is done through instance B reaches the
/// clients connected to instance A, and the other way round.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class CrossInstanceDeliveryTests(CrossInstanceCluster cluster)
{
    private ServiceProcess A => cluster.A;

    private ServiceProcess B => cluster.B;

    [Fact]
    public async Task User_send_through_B_reaches_the_user_on_A()
    {
        var (alice, bob) = (TestUsers.New("alice"), TestUsers.New("bob"));
        await using var aliceOnA = await ConnectAsync(A, alice);
        await using var bobOnA = await ConnectAsync(A, bob);

        var id = await SendAsync(B, TestUsers.Notification("for alice", alice));
        var sentinel = await SendAsync(B, TestUsers.Notification("sentinel", bob));

        Assert.Equal(id, (await aliceOnA.NextNotificationAsync()).Id);
        Assert.Empty(await bobOnA.ReceiveUntilAsync(sentinel));
    }

    [Fact]
    public async Task Role_send_through_B_reaches_holders_of_the_role_on_A()
    {
        var role = $"ops{Guid.NewGuid():N}"[..10];
        await using var oncallOnA = await ConnectAsync(A, TestUsers.New("oncall"), role);

        var id = await SendAsync(B, new { type = "ops.alert", title = "disk full", audience = new { roles = new[] { role } } });

        Assert.Equal(id, (await oncallOnA.NextNotificationAsync()).Id);
    }

    [Fact]
    public async Task Group_send_through_B_reaches_members_on_A()
    {
        var group = $"team-{Guid.NewGuid():N}"[..16];
        var member = TestUsers.New("member");
        await CreateGroupAsync(B, group, "restricted");
        using (var admin = B.Client("admin-1", "admin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{member}", null)).StatusCode);
        }

        await using var memberOnA = await ConnectAsync(A, member);
        var id = await SendAsync(B, new { type = "team.news", title = "standup", audience = new { groups = new[] { group } } });

        Assert.Equal(id, (await memberOnA.NextNotificationAsync()).Id);
    }

    [Fact]
    public async Task A_user_in_several_parts_of_the_audience_gets_each_push_once_on_every_instance()
    {
        var (user, role, group) = (TestUsers.New("overlap"), $"ops{Guid.NewGuid():N}"[..10], $"team-{Guid.NewGuid():N}"[..16]);
        await CreateGroupAsync(B, group, "restricted");
        using var admin = B.Client("admin-1", "admin");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{user}", null)).StatusCode);
        await using var onA = await ConnectAsync(A, user, role);
        await using var onB = await ConnectAsync(B, user, role);
        await onA.InGroupsAsync();
        await onB.InGroupsAsync();
        object ToEveryPart(string title) => new { type = "ops.page", title, audience = new { users = new[] { user }, roles = new[] { role }, groups = new[] { group } } };

        var id = await SendAsync(B, ToEveryPart("every part"));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{id}")).StatusCode);
        var marker = await SendAsync(B, ToEveryPart("marker"));

        // One sender's pushes to such audiences keep their order on every instance: a second copy would come before the marker.
        foreach (var client in new[] { onA, onB })
        {
            Assert.Equal([id], (await client.ReceiveUntilAsync(marker)).Select(n => n.Id));
            Assert.Equal(id, await client.NextRetractionAsync());
            Assert.False(client.HasPendingRetraction);
        }
    }

    [Fact]
    public async Task Everyone_send_through_B_reaches_clients_on_A()
    {
        await using var onA = await ConnectAsync(A, TestUsers.New("anyone"));

        var id = await SendAsync(B, new { type = "system.notice", title = "hello all", audience = new { everyone = true } });

        Assert.Empty(await onA.ReceiveUntilAsync(id));
    }

    [Fact]
    public async Task Bursts_of_broadcasts_through_both_instances_reach_clients_on_both_each_once_in_each_senders_order()
    {
        const int PerInstance = 25;
        await using var onA = await ConnectAsync(A, TestUsers.New("burst-a"));
        await using var onB = await ConnectAsync(B, TestUsers.New("burst-b"));

        // Sent concurrently through both: each instance commits several at once, so its pushes share writes on its own
        // connections, and the Redis channel's messages pile up behind one another on the receiving side.
        var sends = new[] { A, B }.Select(via => Task.Run(() => Task.WhenAll(Enumerable.Range(0, PerInstance).Select(i =>
            SendAsync(via, new { type = "system.burst", title = $"burst {i}", audience = new { everyone = true } }))))).ToArray();
        var ids = await Task.WhenAll(sends).WithTimeout(TimeSpan.FromSeconds(60), "the bursts of sends");
        var (throughA, throughB) = (ids[0].Order().ToArray(), ids[1].Order().ToArray());

        // A sentinel through each instance comes after everything that instance pushed before it.
        long[] sentinels = [await SendAsync(A, Sentinel()), await SendAsync(B, Sentinel())];
        foreach (var client in new[] { onA, onB })
        {
            var received = new List<long>();
            var waiting = sentinels.ToHashSet();
            while (waiting.Count > 0)
            {
                var id = (await client.NextNotificationAsync()).Id;
                if (!waiting.Remove(id))
                {
                    received.Add(id);
                }
            }

            Assert.Equal(throughA.Concat(throughB).Order(), received.Order());
            Assert.Equal(throughA, received.Where(throughA.Contains));
            Assert.Equal(throughB, received.Where(throughB.Contains));
        }

        static object Sentinel() => new { type = "system.burst", title = "sentinel", audience = new { everyone = true } };
    }

    [Fact]
    public async Task A_MessagePack_client_on_A_gets_a_user_send_and_a_broadcast_made_through_B()
    {
        var user = TestUsers.New("packed");
        var received = Channel.CreateUnbounded<long>();
        await using var packedOnA = HubClient.Builder(A.BaseUri, () => TestTokens.For(user)).AddMessagePackProtocol().Build();
        packedOnA.On<Dictionary<object, object>>("ReceiveNotification",
            n => received.Writer.TryWrite(Convert.ToInt64(n["id"], System.Globalization.CultureInfo.InvariantCulture)));
        await packedOnA.StartAsync().WithTimeout(what: "the MessagePack connection to start");
        await packedOnA.InvokeAsync<int>("GetUnreadCount").WithTimeout(what: "a first round trip (the hub has put it in its groups)");

        var forUser = await SendAsync(B, TestUsers.Notification("packed", user));
        var forEveryone = await SendAsync(B, new { type = "system.notice", title = "hello all", audience = new { everyone = true } });

        Assert.Equal(forUser, await received.Reader.ReadAsync().AsTask().WithTimeout(what: "the user send over MessagePack"));
        Assert.Equal(forEveryone, await received.Reader.ReadAsync().AsTask().WithTimeout(what: "the broadcast over MessagePack"));
    }

    [Fact]
    public async Task Subscribe_on_A_then_a_send_through_B_reaches_the_subscriber()
    {
        var group = $"open-{Guid.NewGuid():N}"[..16];
        await CreateGroupAsync(B, group, "open");
        await using var subscriberOnA = await ConnectAsync(A, TestUsers.New("fan"));

        await subscriberOnA.InvokeAsync<object>("Subscribe", group);
        var id = await SendAsync(B, new { type = "group.news", title = "fresh", audience = new { groups = new[] { group } } });

        Assert.Equal(id, (await subscriberOnA.NextNotificationAsync()).Id);
    }

    [Fact]
    public async Task After_unsubscribing_on_A_a_group_send_through_B_reaches_only_the_members_left()
    {
        var group = $"open-{Guid.NewGuid():N}"[..16];
        await CreateGroupAsync(B, group, "open");
        await using var leaverOnA = await ConnectAsync(A, TestUsers.New("leaver"));
        await using var stayerOnA = await ConnectAsync(A, TestUsers.New("stayer"));
        await leaverOnA.InvokeAsync<object>("Subscribe", group);
        await stayerOnA.InvokeAsync<object>("Subscribe", group);
        var first = await SendAsync(B, new { type = "group.news", title = "both", audience = new { groups = new[] { group } } });
        Assert.Equal(first, (await leaverOnA.NextNotificationAsync()).Id);
        Assert.Equal(first, (await stayerOnA.NextNotificationAsync()).Id);

        await leaverOnA.InvokeAsync<object>("Unsubscribe", group);
        var second = await SendAsync(B, new { type = "group.news", title = "stayer only", audience = new { groups = new[] { group } } });

        Assert.Equal(second, (await stayerOnA.NextNotificationAsync()).Id);
        await Task.Delay(Timeouts.Absence);
        Assert.False(leaverOnA.HasPendingNotification, "The connection that left the group still got its push.");
    }

    [Fact]
    public async Task Admin_adding_a_member_through_B_moves_their_live_connection_on_A()
    {
        var group = $"crew-{Guid.NewGuid():N}"[..16];
        var user = TestUsers.New("crew");
        await CreateGroupAsync(B, group, "restricted");
        await using var userOnA = await ConnectAsync(A, user);

        using (var admin = B.Client("admin-1", "admin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{user}", null)).StatusCode);
        }

        // The membership change travels to A on the Redis bus while the send is stored; should the push overtake it,
        // the next send shows the connection was moved. Without the move none of them would ever arrive.
        var sent = new List<long>();
        long? received = null;
        for (var attempt = 0; attempt < 5 && received is null; attempt++)
        {
            sent.Add(await SendAsync(B, new { type = "crew.news", title = $"shift {attempt}", audience = new { groups = new[] { group } } }));
            try
            {
                received = (await userOnA.NextNotificationAsync(TimeSpan.FromSeconds(2))).Id;
            }
            catch (TimeoutException)
            {
            }
        }

        Assert.NotNull(received);
        Assert.Contains(received.Value, sent);
    }

    [Fact]
    public async Task Read_state_changed_on_A_reaches_the_same_users_connection_on_B()
    {
        var user = TestUsers.New("reader");
        await using var tabOnA = await ConnectAsync(A, user);
        await using var tabOnB = await ConnectAsync(B, user);
        var first = await SendAsync(A, TestUsers.Notification("one", user));
        var second = await SendAsync(A, TestUsers.Notification("two", user));
        await tabOnB.ReceiveUntilAsync(second);
        await tabOnA.ReceiveUntilAsync(second);
        var unread = await tabOnB.InvokeAsync<int>("GetUnreadCount");

        await tabOnA.InvokeAsync("MarkRead", new long[] { first });

        Assert.Equal([first], await tabOnB.NextReadAsync());
        Assert.Equal(unread - 1, await tabOnB.NextUnreadCountAsync());
        await tabOnB.InvokeAsync("MarkAllRead");
        Assert.True((await tabOnA.NextAllReadAsync()).UpToId >= second);
    }

    [Fact]
    public async Task Each_connection_on_either_instance_gets_the_unread_count_its_own_roles_see()
    {
        // The instance where the read happens does not hold the other tabs' tokens: each instance counts for its own.
        var role = $"ops{Guid.NewGuid():N}"[..10];
        var user = TestUsers.New("two-tokens");
        await using var plainOnA = await ConnectAsync(A, user);
        await using var opsOnA = await ConnectAsync(A, user, role);
        await using var opsOnB = await ConnectAsync(B, user, role);
        var forUser = await SendAsync(A, TestUsers.Notification("one", user));
        await SendAsync(A, new { type = "ops.alert", title = "for the role", audience = new { roles = new[] { role } } });
        var last = await SendAsync(A, TestUsers.Notification("two", user));
        await opsOnB.ReceiveUntilAsync(last);
        await plainOnA.ReceiveUntilAsync(last);
        var plainBefore = await plainOnA.InvokeAsync<int>("GetUnreadCount");
        Assert.Equal(plainBefore + 1, await opsOnB.InvokeAsync<int>("GetUnreadCount"));

        await plainOnA.InvokeAsync("MarkRead", new long[] { forUser });
        Assert.Equal(plainBefore - 1, await plainOnA.NextUnreadCountAsync());
        Assert.Equal(plainBefore, await opsOnA.NextUnreadCountAsync());
        Assert.Equal(plainBefore, await opsOnB.NextUnreadCountAsync());

        // Through B over REST with the token without the role: A's tabs are told theirs.
        using (var plainHttp = B.Client(user))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await plainHttp.PostAsync($"api/notifications/{last}/archive", null)).StatusCode);
        }

        Assert.Equal(plainBefore - 2, await plainOnA.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 1, await opsOnA.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 1, await opsOnB.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 1, await opsOnB.InvokeAsync<int>("GetUnreadCount"));
    }
}
