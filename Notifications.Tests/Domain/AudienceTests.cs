using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class AudienceTests
{
    [Fact]
    public void Audience_without_any_part_is_refused()
    {
        var error = Assert.Throws<DomainException>(() => new Audience());

        Assert.Equal("The audience must name at least one user, role or group, or everyone.", error.Message);
    }

    [Fact]
    public void Empty_lists_do_not_count_as_a_part()
    {
        Assert.Throws<DomainException>(() => new Audience(users: [], roles: [], groups: []));
    }

    [Fact]
    public void Blank_entries_do_not_count_as_a_part()
    {
        Assert.Throws<DomainException>(() => new Audience(users: ["", "  ", "\t"], roles: [" "], groups: ["\n"]));
    }

    [Fact]
    public void Everyone_alone_is_an_audience()
    {
        var audience = new Audience(everyone: true);

        Assert.True(audience.Everyone);
        Assert.Empty(audience.Users);
        Assert.Empty(audience.Roles);
        Assert.Empty(audience.Groups);
    }

    [Theory]
    [InlineData("users")]
    [InlineData("roles")]
    [InlineData("groups")]
    public void A_single_entry_in_any_part_is_an_audience(string part)
    {
        var audience = Of(part, ["x"]);

        Assert.Equal(["x"], Part(audience, part));
        Assert.False(audience.Everyone);
    }

    [Fact]
    public void Entries_are_trimmed()
    {
        var audience = new Audience(users: ["  alice ", "\tbob\n"], roles: [" ops "], groups: [" team "]);

        Assert.Equal(["alice", "bob"], audience.Users);
        Assert.Equal(["ops"], audience.Roles);
        Assert.Equal(["team"], audience.Groups);
    }

    [Fact]
    public void Duplicates_are_removed_after_trimming_keeping_the_first_order()
    {
        var audience = new Audience(users: ["bob", "alice", " bob", "alice ", "carol", "bob"]);

        Assert.Equal(["bob", "alice", "carol"], audience.Users);
    }

    [Fact]
    public void Blank_entries_are_dropped_beside_real_ones()
    {
        var audience = new Audience(users: ["", "alice", "   "]);

        Assert.Equal(["alice"], audience.Users);
    }

    [Fact]
    public void Entries_differing_only_in_case_are_different_entries()
    {
        var audience = new Audience(users: ["Alice", "alice"]);

        Assert.Equal(["Alice", "alice"], audience.Users);
    }

    [Fact]
    public void The_same_value_in_different_parts_is_kept_in_each()
    {
        var audience = new Audience(users: ["ops"], roles: ["ops"], groups: ["ops"]);

        Assert.Equal(["ops"], audience.Users);
        Assert.Equal(["ops"], audience.Roles);
        Assert.Equal(["ops"], audience.Groups);
    }

    [Fact]
    public void Exactly_the_maximum_number_of_entries_across_parts_is_allowed()
    {
        var audience = new Audience(users: Names("u", 500), roles: Names("r", 300), groups: Names("g", 200));

        Assert.Equal(Audience.MaxEntries, audience.Users.Count + audience.Roles.Count + audience.Groups.Count);
    }

    [Fact]
    public void One_entry_over_the_maximum_across_parts_is_refused()
    {
        var error = Assert.Throws<DomainException>(() => new Audience(users: Names("u", 500), roles: Names("r", 300), groups: Names("g", 201)));

        Assert.Equal("The audience may list at most 1000 users, roles and groups together.", error.Message);
    }

    [Fact]
    public void One_part_over_the_maximum_is_refused()
    {
        Assert.Throws<DomainException>(() => new Audience(users: Names("u", Audience.MaxEntries + 1)));
    }

    [Fact]
    public void The_maximum_counts_entries_after_removing_duplicates()
    {
        var audience = new Audience(users: [.. Names("u", Audience.MaxEntries), "u0", " u1 "]);

        Assert.Equal(Audience.MaxEntries, audience.Users.Count);
    }

    [Fact]
    public void The_maximum_applies_to_an_audience_that_also_names_everyone()
    {
        Assert.Throws<DomainException>(() => new Audience(users: Names("u", Audience.MaxEntries + 1), everyone: true));
    }

    [Fact]
    public void The_maximum_is_1000()
    {
        Assert.Equal(1000, Audience.MaxEntries);
    }

    [Theory]
    [InlineData("users", false)]
    [InlineData("groups", false)]
    [InlineData("roles", true)]
    public void Only_roles_or_everyone_count_as_targeting_roles_or_everyone(string part, bool expected)
    {
        Assert.Equal(expected, Of(part, ["x"]).TargetsRolesOrEveryone);
    }

    [Fact]
    public void Everyone_targets_roles_or_everyone()
    {
        Assert.True(new Audience(users: ["alice"], everyone: true).TargetsRolesOrEveryone);
    }

    [Fact]
    public void Blank_roles_do_not_make_an_audience_target_roles()
    {
        Assert.False(new Audience(users: ["alice"], roles: ["  "]).TargetsRolesOrEveryone);
    }

    [Fact]
    public void Audiences_naming_the_same_entries_are_equal_whatever_the_order_spacing_or_duplicates()
    {
        var left = new Audience(users: ["alice", "bob"], roles: ["ops"], groups: ["team"]);
        var right = new Audience(users: [" bob", "alice", "bob"], roles: ["ops "], groups: ["team"]);

        Assert.Equal(left, right);
        Assert.Equal(left.GetHashCode(), right.GetHashCode());
    }

    [Fact]
    public void Audiences_differing_in_one_part_are_not_equal()
    {
        var audience = new Audience(users: ["alice"], groups: ["team"]);

        Assert.NotEqual(audience, new Audience(users: ["alice"], roles: ["team"]));
        Assert.NotEqual(audience, new Audience(users: ["alice"], groups: ["team"], everyone: true));
        Assert.NotEqual(audience, new Audience(users: ["alice", "bob"], groups: ["team"]));
        Assert.NotEqual(audience, new Audience(users: ["Alice"], groups: ["team"]));
        Assert.False(audience.Equals(null));
    }

    private static Audience Of(string part, string[] values) => part switch
    {
        "users" => new Audience(users: values),
        "roles" => new Audience(roles: values),
        "groups" => new Audience(groups: values),
        _ => throw new ArgumentOutOfRangeException(nameof(part)),
    };

    private static IReadOnlyList<string> Part(Audience audience, string part) => part switch
    {
        "users" => audience.Users,
        "roles" => audience.Roles,
        "groups" => audience.Groups,
        _ => throw new ArgumentOutOfRangeException(nameof(part)),
    };

    private static string[] Names(string prefix, int count) =>
        [.. Enumerable.Range(0, count).Select(i => prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}
