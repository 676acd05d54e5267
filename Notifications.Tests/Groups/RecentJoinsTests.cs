using Notifications.Api.Groups;
using Notifications.Tests.Delivery;

namespace Notifications.Tests.Groups;

public sealed class RecentJoinsTests
{
    private readonly TestClock clock = new();

    [Fact]
    public void A_send_is_checked_only_when_a_join_to_one_of_its_groups_was_heard_since_it_was_created()
    {
        var joins = new RecentJoins(clock);
        var createdAt = clock.GetUtcNow().UtcDateTime;
        Assert.False(joins.MayHaveJoinedSince(["team"], createdAt));

        clock.Advance(TimeSpan.FromSeconds(1));
        joins.Heard("other");
        Assert.False(joins.MayHaveJoinedSince(["team"], createdAt));

        joins.Heard("team");
        Assert.True(joins.MayHaveJoinedSince(["ops", "team"], createdAt));

        // Ten seconds later a new send has nothing to fear from that join.
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.False(joins.MayHaveJoinedSince(["team"], clock.GetUtcNow().UtcDateTime));
    }

    [Fact]
    public void A_join_heard_a_little_before_createdAt_still_counts_for_clocks_that_differ()
    {
        var joins = new RecentJoins(clock);
        joins.Heard("team");
        clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(joins.MayHaveJoinedSince(["team"], clock.GetUtcNow().UtcDateTime));
    }

    [Fact]
    public void Joins_that_may_have_been_missed_count_for_every_group()
    {
        var joins = new RecentJoins(clock);
        var createdAt = clock.GetUtcNow().UtcDateTime;
        joins.Heard(null);
        Assert.True(joins.MayHaveJoinedSince(["anything"], createdAt));
    }

    [Fact]
    public void A_send_older_than_what_is_remembered_is_always_checked()
    {
        var joins = new RecentJoins(clock);
        var createdAt = clock.GetUtcNow().UtcDateTime;
        clock.Advance(RecentJoins.Horizon + TimeSpan.FromSeconds(1));
        Assert.True(joins.MayHaveJoinedSince(["team"], createdAt));
    }
}
