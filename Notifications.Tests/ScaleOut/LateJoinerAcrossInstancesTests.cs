using System.Net;
using Notifications.Api.Groups;
using Notifications.Tests.Infrastructure;
using Xunit.Abstractions;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// A member who joins a group on one instance while a send to it, made through the other, is still being committed
/// must not get its push on either instance; the members of the send's time get it on both. Two real instances on
/// PostgreSQL and a real redis-server; sends are held open for up to 1.5 s after their createdAt is stamped.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class LateJoinerAcrossInstancesTests(SlowSendCommitCluster cluster, ITestOutputHelper output) : IClassFixture<SlowSendCommitCluster>
{
    [Fact]
    public async Task A_member_who_joins_on_one_instance_while_a_group_send_through_the_other_commits_gets_its_push_on_neither()
    {
        var (a, b) = (cluster.A, cluster.B);

        // A join 100 ms in usually lands between the send's createdAt and its commit (0..1500 ms); only such rounds count.
        var raced = 0;
        for (var round = 0; round < 12 && raced < 3; round++)
        {
            var group = $"late-x-{Guid.NewGuid():N}"[..18];
            await CreateGroupAsync(a, group, "open");
            var (early, late) = (TestUsers.New("early"), TestUsers.New("late"));
            await using var earlyOnA = await ConnectAsync(a, early);
            await using var earlyOnB = await ConnectAsync(b, early);
            await using var lateOnA = await ConnectAsync(a, late);
            await using var lateOnB = await ConnectAsync(b, late);
            await earlyOnA.InvokeAsync<SubscribeResult>("Subscribe", group);
            await Task.WhenAll(earlyOnA.InGroupsAsync(), earlyOnB.InGroupsAsync());

            using var sender = b.Client("admin-late-x", "admin");
            var sending = sender.SendNotificationAsync(new { type = "team.plan", title = "before you joined", audience = new { groups = new[] { group } } });
            await Task.Delay(100);
            var joined = await lateOnA.InvokeAsync<SubscribeResult>("Subscribe", group);
            var sent = await sending.WithTimeout(what: "the group send through B");
            if (joined.JoinedAt <= sent.CreatedAt)
            {
                output.WriteLine($"round {round}: the join came first ({joined.JoinedAt:O} <= {sent.CreatedAt:O}); not counted");
                continue;
            }

            raced++;

            // Pushes to one user keep their order behind the group's push on each instance: once the marker is there, the
            // group's push would have been too.
            var marker = await SendAsync(b, TestUsers.Notification("after the group send", late));
            foreach (var (client, instance) in new[] { (lateOnA, "A"), (lateOnB, "B") })
            {
                var got = await client.ReceiveUntilAsync(marker);
                Assert.True(!got.Any(n => n.Id == sent.Id), $"the late member's connection on {instance} got the push of a send from before its join");
            }

            using var lateHttp = a.Client(late);
            Assert.Equal(HttpStatusCode.NotFound, (await lateHttp.GetAsync($"api/notifications/{sent.Id}").WithTimeout(what: "the late member's read")).StatusCode);

            // The members of the send's time still get it live, on both instances.
            await earlyOnA.ReceiveUntilAsync(sent.Id);
            await earlyOnB.ReceiveUntilAsync(sent.Id);
            output.WriteLine($"round {round}: raced (created {sent.CreatedAt:O}, joined {joined.JoinedAt:O}); only the earlier member got the push");
        }

        Assert.True(raced >= 3, $"only {raced} rounds had the join land between the send's createdAt and its commit");
    }
}
