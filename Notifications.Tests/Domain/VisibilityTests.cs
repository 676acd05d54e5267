using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class VisibilityTests
{
    private static readonly DateTime CreatedAt = new(2026, 11, 25, 21, 0, 0, DateTimeKind.Utc);
    private static readonly Membership[] NoGroups = [];

    [Fact]
    public void Listed_user_sees_it()
    {
        Assert.True(Visibility.Sees(Viewer.Of("alice"), NoGroups, new Audience(users: ["bob", "alice"]), CreatedAt));
    }

    [Fact]
    public void Unlisted_user_does_not_see_it()
    {
        Assert.False(Visibility.Sees(Viewer.Of("carol"), NoGroups, new Audience(users: ["bob", "alice"]), CreatedAt));
    }

    [Fact]
    public void User_ids_match_exactly()
    {
        Assert.False(Visibility.Sees(Viewer.Of("Alice"), NoGroups, new Audience(users: ["alice"]), CreatedAt));
    }

    [Fact]
    public void Holder_of_a_listed_role_sees_it()
    {
        Assert.True(Visibility.Sees(Viewer.Of("alice", "viewer", "ops"), NoGroups, new Audience(roles: ["ops"]), CreatedAt));
    }

    [Fact]
    public void User_without_a_listed_role_does_not_see_it()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice", "viewer"), NoGroups, new Audience(roles: ["ops"]), CreatedAt));
    }

    [Fact]
    public void Roles_are_read_from_the_current_viewer_so_a_dropped_role_hides_it()
    {
        var audience = new Audience(roles: ["ops"]);

        Assert.True(Visibility.Sees(Viewer.Of("alice", "ops"), NoGroups, audience, CreatedAt));
        Assert.False(Visibility.Sees(Viewer.Of("alice"), NoGroups, audience, CreatedAt));
    }

    [Fact]
    public void Role_names_match_exactly()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice", "Ops"), NoGroups, new Audience(roles: ["ops"]), CreatedAt));
    }

    [Fact]
    public void Being_listed_as_a_user_named_like_a_role_is_not_holding_the_role()
    {
        Assert.False(Visibility.Sees(Viewer.Of("ops"), NoGroups, new Audience(roles: ["ops"]), CreatedAt));
    }

    [Fact]
    public void Member_who_joined_before_the_notification_sees_it()
    {
        Assert.True(Visibility.Sees(Viewer.Of("alice"), [new Membership("team", CreatedAt.AddDays(-1))], new Audience(groups: ["team"]), CreatedAt));
    }

    [Fact]
    public void Member_who_joined_at_the_very_moment_of_creation_sees_it()
    {
        Assert.True(Visibility.Sees(Viewer.Of("alice"), [new Membership("team", CreatedAt)], new Audience(groups: ["team"]), CreatedAt));
    }

    [Fact]
    public void Member_who_joined_one_tick_after_creation_does_not_see_it()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice"), [new Membership("team", CreatedAt.AddTicks(1))], new Audience(groups: ["team"]), CreatedAt));
    }

    [Fact]
    public void Member_of_an_unlisted_group_does_not_see_it()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice"), [new Membership("other", CreatedAt.AddDays(-1))], new Audience(groups: ["team"]), CreatedAt));
    }

    [Fact]
    public void Group_names_match_exactly()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice"), [new Membership("Team", CreatedAt.AddDays(-1))], new Audience(groups: ["team"]), CreatedAt));
    }

    [Fact]
    public void Membership_only_counts_for_groups_of_the_audience_not_for_a_user_named_like_the_group()
    {
        Assert.False(Visibility.Sees(Viewer.Of("alice"), [new Membership("team", CreatedAt.AddDays(-1))], new Audience(users: ["team"]), CreatedAt));
    }

    [Fact]
    public void An_early_membership_in_one_listed_group_is_enough_when_another_came_late()
    {
        Membership[] memberships = [new("late", CreatedAt.AddMinutes(1)), new("early", CreatedAt.AddMinutes(-1))];

        Assert.True(Visibility.Sees(Viewer.Of("alice"), memberships, new Audience(groups: ["late", "early"]), CreatedAt));
    }

    [Fact]
    public void Only_late_memberships_in_listed_groups_do_not_show_it()
    {
        Membership[] memberships = [new("a", CreatedAt.AddTicks(1)), new("b", CreatedAt.AddHours(1))];

        Assert.False(Visibility.Sees(Viewer.Of("alice"), memberships, new Audience(groups: ["a", "b"]), CreatedAt));
    }

    [Fact]
    public void Everyone_shows_it_to_a_user_with_no_roles_and_no_groups()
    {
        Assert.True(Visibility.Sees(Viewer.Of("stranger"), NoGroups, new Audience(everyone: true), CreatedAt));
    }

    [Fact]
    public void Late_joiner_still_sees_a_group_notification_that_also_lists_them_by_name()
    {
        var audience = new Audience(users: ["alice"], groups: ["team"]);

        Assert.True(Visibility.Sees(Viewer.Of("alice"), [new Membership("team", CreatedAt.AddDays(1))], audience, CreatedAt));
    }

    [Fact]
    public void Any_single_matching_part_is_enough()
    {
        var audience = new Audience(users: ["bob"], roles: ["ops"], groups: ["team"]);

        Assert.True(Visibility.Sees(Viewer.Of("bob"), NoGroups, audience, CreatedAt));
        Assert.True(Visibility.Sees(Viewer.Of("carol", "ops"), NoGroups, audience, CreatedAt));
        Assert.True(Visibility.Sees(Viewer.Of("dave"), [new Membership("team", CreatedAt)], audience, CreatedAt));
        Assert.False(Visibility.Sees(Viewer.Of("erin", "viewer"), [new Membership("team", CreatedAt.AddTicks(1))], audience, CreatedAt));
    }

    [Fact]
    public void Notification_neither_retracted_nor_expiring_is_live()
    {
        Assert.True(Visibility.IsLive(retractedAt: null, expiresAt: null, CreatedAt));
    }

    [Fact]
    public void Retracted_notification_is_hidden()
    {
        Assert.False(Visibility.IsLive(retractedAt: CreatedAt, expiresAt: null, CreatedAt.AddSeconds(1)));
    }

    [Fact]
    public void Retracted_notification_is_hidden_even_before_it_would_expire()
    {
        Assert.False(Visibility.IsLive(retractedAt: CreatedAt, expiresAt: CreatedAt.AddDays(1), CreatedAt.AddSeconds(1)));
    }

    [Fact]
    public void Notification_is_live_until_one_tick_before_it_expires()
    {
        var expiresAt = CreatedAt.AddHours(1);

        Assert.True(Visibility.IsLive(retractedAt: null, expiresAt, expiresAt.AddTicks(-1)));
    }

    [Fact]
    public void Notification_is_hidden_at_the_moment_it_expires()
    {
        var expiresAt = CreatedAt.AddHours(1);

        Assert.False(Visibility.IsLive(retractedAt: null, expiresAt, expiresAt));
    }

    [Fact]
    public void Notification_stays_hidden_after_it_expired()
    {
        var expiresAt = CreatedAt.AddHours(1);

        Assert.False(Visibility.IsLive(retractedAt: null, expiresAt, expiresAt.AddDays(30)));
    }
}
