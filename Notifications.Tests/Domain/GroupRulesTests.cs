using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class GroupRulesTests
{
    private static readonly Viewer Admin = Viewer.Of("root", Roles.Admin);
    private static readonly Viewer Alice = Viewer.Of("alice");

    [Theory]
    [InlineData("team")]
    [InlineData("Team-1")]
    [InlineData("a.b_c-d")]
    [InlineData("x")]
    [InlineData("...")]
    [InlineData(".hidden")]
    [InlineData("release..notes")]
    public void Letters_digits_dots_underscores_and_hyphens_make_a_group_name(string name)
    {
        Assert.True(GroupRules.IsValidName(name));
    }

    [Fact]
    public void A_group_name_may_have_64_characters()
    {
        Assert.True(GroupRules.IsValidName(new string('g', GroupRules.MaxNameLength)));
        Assert.Equal(64, GroupRules.MaxNameLength);
    }

    [Fact]
    public void A_group_name_may_not_have_65_characters()
    {
        Assert.False(GroupRules.IsValidName(new string('g', GroupRules.MaxNameLength + 1)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(" team")]
    [InlineData("team ")]
    [InlineData("my team")]
    [InlineData("team/a")]
    [InlineData("team%2F")]
    [InlineData("team?x")]
    [InlineData("équipe")]
    [InlineData("team\n")]
    [InlineData("tëam")]
    public void Other_characters_make_an_invalid_group_name(string? name)
    {
        Assert.False(GroupRules.IsValidName(name));
    }

    [Theory]
    [InlineData(".")]
    [InlineData("..")]
    public void Dot_segments_are_not_group_names_because_urls_could_never_address_them(string name)
    {
        Assert.False(GroupRules.IsValidName(name));
    }

    [Theory]
    [InlineData(GroupKind.Open)]
    [InlineData(GroupKind.Restricted)]
    public void Admin_manages_anyone_in_any_group(GroupKind kind)
    {
        Assert.True(GroupRules.MayChangeMembership(Admin, kind, "bob"));
        Assert.True(GroupRules.MayChangeMembership(Admin, kind, Admin.UserId));
    }

    [Fact]
    public void User_may_join_or_leave_an_open_group_themselves()
    {
        Assert.True(GroupRules.MayChangeMembership(Alice, GroupKind.Open, "alice"));
    }

    [Fact]
    public void User_may_not_add_or_remove_someone_else_in_an_open_group()
    {
        Assert.False(GroupRules.MayChangeMembership(Alice, GroupKind.Open, "bob"));
    }

    [Fact]
    public void User_id_must_match_exactly_to_count_as_themselves()
    {
        Assert.False(GroupRules.MayChangeMembership(Alice, GroupKind.Open, "Alice"));
    }

    [Fact]
    public void User_may_not_change_their_own_membership_of_a_restricted_group()
    {
        Assert.False(GroupRules.MayChangeMembership(Alice, GroupKind.Restricted, "alice"));
    }

    [Fact]
    public void Publisher_may_not_manage_a_restricted_group()
    {
        Assert.False(GroupRules.MayChangeMembership(Viewer.Of("billing", Roles.Publisher), GroupKind.Restricted, "bob"));
    }

    [Fact]
    public void Only_open_groups_take_self_subscriptions()
    {
        Assert.True(GroupRules.MaySubscribe(GroupKind.Open));
        Assert.False(GroupRules.MaySubscribe(GroupKind.Restricted));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Everyone_lists_open_groups(bool isMember)
    {
        Assert.True(GroupRules.MaySeeGroup(Alice, GroupKind.Open, isMember));
    }

    [Fact]
    public void Members_list_their_restricted_group()
    {
        Assert.True(GroupRules.MaySeeGroup(Alice, GroupKind.Restricted, isMember: true));
    }

    [Fact]
    public void Non_members_do_not_list_a_restricted_group()
    {
        Assert.False(GroupRules.MaySeeGroup(Alice, GroupKind.Restricted, isMember: false));
        Assert.False(GroupRules.MaySeeGroup(Viewer.Of("billing", Roles.Publisher), GroupKind.Restricted, isMember: false));
    }

    [Fact]
    public void Admins_list_every_group()
    {
        Assert.True(GroupRules.MaySeeGroup(Admin, GroupKind.Restricted, isMember: false));
    }

    [Theory]
    [InlineData(false, "alice")]
    [InlineData(true, "alice")]
    [InlineData(false, "bob")]
    [InlineData(false, " not a user id")]
    public void A_restricted_group_a_user_may_not_see_answers_as_if_it_did_not_exist(bool viaSubscribe, string memberUserId)
    {
        foreach (var outsider in new[] { Alice, Viewer.Of("alice", Roles.Publisher) })
        {
            var refusal = Assert.Throws<NotFoundException>(() =>
                GroupRules.EnsureMayChangeMembership(outsider, "vip", GroupKind.Restricted, actorIsMember: false, memberUserId, viaSubscribe));

            Assert.Equal(GroupRules.NotFound("vip").Message, refusal.Message);
        }
    }

    [Fact]
    public void Members_of_a_restricted_group_are_told_it_is_restricted()
    {
        var subscribe = Assert.Throws<ForbiddenException>(() =>
            GroupRules.EnsureMayChangeMembership(Alice, "vip", GroupKind.Restricted, actorIsMember: true, "alice", viaSubscribe: true));
        var leave = Assert.Throws<ForbiddenException>(() =>
            GroupRules.EnsureMayChangeMembership(Alice, "vip", GroupKind.Restricted, actorIsMember: true, "alice", viaSubscribe: false));

        Assert.Contains("restricted", subscribe.Message, StringComparison.Ordinal);
        Assert.Contains("restricted", leave.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Admins_get_the_precise_answer_for_a_restricted_group_they_are_not_in()
    {
        GroupRules.EnsureMayChangeMembership(Admin, "vip", GroupKind.Restricted, actorIsMember: false, "bob", viaSubscribe: false);

        Assert.Throws<ForbiddenException>(() =>
            GroupRules.EnsureMayChangeMembership(Admin, "vip", GroupKind.Restricted, actorIsMember: false, Admin.UserId, viaSubscribe: true));
        // Exactly a DomainException (a 400), not the not-found answer an outsider gets.
        Assert.Throws<DomainException>(() =>
            GroupRules.EnsureMayChangeMembership(Admin, "vip", GroupKind.Restricted, actorIsMember: false, " bob", viaSubscribe: false));
    }

    [Fact]
    public void In_an_open_group_anyone_may_change_only_themselves()
    {
        GroupRules.EnsureMayChangeMembership(Alice, "pub", GroupKind.Open, actorIsMember: false, "alice", viaSubscribe: true);

        var other = Assert.Throws<ForbiddenException>(() =>
            GroupRules.EnsureMayChangeMembership(Alice, "pub", GroupKind.Open, actorIsMember: false, "bob", viaSubscribe: false));
        Assert.Contains("themselves", other.Message, StringComparison.Ordinal);
    }
}
