using System.Net;
using Notifications.Api.Groups;
using Notifications.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Notifications.Tests.Delivery;

/// <summary>On PostgreSQL, whose row locks let a join commit while a send's transaction is held open for up to 1.5 s.</summary>
public sealed class SlowSendCommitFixture : DeliveryFixture
{
    protected override bool OnPostgres => true;

    protected override Dictionary<string, string?> ExtraSettings() => new()
    {
        ["Faults:SendCommitDelayMs"] = "1500",
    };
}

public sealed class LateJoinerPushTests(SlowSendCommitFixture service, ITestOutputHelper output) : IClassFixture<SlowSendCommitFixture>
{
    [Fact]
    public async Task A_member_who_joins_between_a_group_send_and_its_push_does_not_get_the_push_and_earlier_members_do()
    {
        // The send's createdAt is stamped before its transaction is held open for a random 0..1500 ms; a join 100 ms
        // in usually lands in between. Only such rounds say anything, so rounds go on until three of them did.
        var raced = 0;
        for (var round = 0; round < 12 && raced < 3; round++)
        {
            var group = $"late-{Guid.NewGuid():N}"[..16];
            using var admin = service.LongClient("admin-late", "admin");
            await admin.CreateGroupAsync(group, "open");
            var (early, late) = (TestUsers.New("early"), TestUsers.New("late"));
            await using var earlyHub = await service.LongConnectAsync(early);
            await using var lateHub = await service.LongConnectAsync(late);
            await earlyHub.InvokeAsync<SubscribeResult>("Subscribe", group);
            await Task.WhenAll(earlyHub.InGroupsAsync(), lateHub.InGroupsAsync()).WithTimeout(what: "both connections to be registered");

            var sending = service.SendAsAdminAsync(new { type = "team.plan", title = "before you joined", audience = new { groups = new[] { group } } });
            await Task.Delay(100);
            var joined = await lateHub.InvokeAsync<SubscribeResult>("Subscribe", group);
            var sent = await sending.WithTimeout(what: "the group send");
            if (joined.JoinedAt <= sent.CreatedAt)
            {
                output.WriteLine($"round {round}: the join came first ({joined.JoinedAt:O} <= {sent.CreatedAt:O}); not counted");
                continue;
            }

            raced++;
            var marker = await service.SendAsAdminAsync(TestUsers.Notification("after the group send", late));
            var lateGot = await lateHub.ReceiveUntilAsync(marker.Id);
            Assert.DoesNotContain(sent.Id, lateGot.Select(n => n.Id));
            using var lateHttp = service.LongClient(late);
            Assert.Equal(HttpStatusCode.NotFound, (await lateHttp.GetAsync($"api/notifications/{sent.Id}").WithTimeout(what: "the late member's read")).StatusCode);

            // The members of the send's time still get it live.
            await earlyHub.ReceiveUntilAsync(sent.Id);
            output.WriteLine($"round {round}: raced (created {sent.CreatedAt:O}, joined {joined.JoinedAt:O}); only the earlier member got the push");
        }

        Assert.True(raced >= 3, $"only {raced} rounds had the join land between the send's createdAt and its commit");
    }

    [Fact]
    public async Task A_member_who_got_a_group_push_and_left_and_joined_again_since_still_gets_its_retraction()
    {
        var group = $"rejoin-{Guid.NewGuid():N}"[..16];
        using var admin = service.LongClient("admin-late", "admin");
        await admin.CreateGroupAsync(group, "open");
        var member = TestUsers.New("member");
        await using var hub = await service.LongConnectAsync(member);
        await hub.InvokeAsync<SubscribeResult>("Subscribe", group);
        var sent = await service.SendAsAdminAsync(new { type = "team.plan", title = "seen, then retracted", audience = new { groups = new[] { group } } });
        await hub.ReceiveUntilAsync(sent.Id);

        // Joined again after the send: the notification is no longer theirs to see, but their client shows it.
        await hub.InvokeAsync("Unsubscribe", group);
        var rejoined = await hub.InvokeAsync<SubscribeResult>("Subscribe", group);
        Assert.True(rejoined.JoinedAt > sent.CreatedAt);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{sent.Id}").WithTimeout(what: "the retraction")).StatusCode);
        Assert.Equal(sent.Id, await hub.NextRetractionAsync());
    }
}
