using System.ComponentModel.DataAnnotations;
using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class NotificationLimitsTests
{
    // The API checks `type` with this attribute and the domain's pattern; testing through it pins what callers get.
    private static readonly RegularExpressionAttribute TypeRule = new(NotificationLimits.TypePattern);

    [Fact]
    public void Sizes_are_those_of_the_contract()
    {
        Assert.Equal(100, NotificationLimits.MaxTypeLength);
        Assert.Equal(200, NotificationLimits.MaxTitleLength);
        Assert.Equal(4000, NotificationLimits.MaxBodyLength);
        Assert.Equal(16 * 1024, NotificationLimits.MaxDataBytes);
    }

    [Theory]
    [InlineData("order.shipped")]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("system_maintenance-v2.1")]
    [InlineData("...")]
    public void Lowercase_letters_digits_dots_underscores_and_hyphens_make_a_type(string type)
    {
        Assert.True(TypeRule.IsValid(type));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("ali\u0007ce", false)]
    [InlineData("tab\tbed", false)]
    [InlineData("alice smith", true)]
    [InlineData("alice ", false)]
    [InlineData(" alice", false)]
    [InlineData("alice\u3000", false)]
    public void A_user_id_is_non_empty_printable_and_not_padded(string? userId, bool valid)
    {
        Assert.Equal(valid, NotificationLimits.IsUserId(userId));
    }

    [Fact]
    public void The_user_id_rule_states_the_length_limit()
    {
        Assert.StartsWith($"1-{NotificationLimits.MaxUserIdLength} characters", NotificationLimits.UserIdRule, StringComparison.Ordinal);
    }

    [Fact]
    public void A_user_id_may_have_128_characters_but_not_129()
    {
        Assert.True(NotificationLimits.IsUserId(new string('u', 128)));
        Assert.False(NotificationLimits.IsUserId(new string('u', 129)));
    }

    [Fact]
    public void A_type_may_have_100_characters_but_not_101()
    {
        Assert.True(TypeRule.IsValid(new string('t', NotificationLimits.MaxTypeLength)));
        Assert.False(TypeRule.IsValid(new string('t', NotificationLimits.MaxTypeLength + 1)));
    }

    [Fact]
    public void An_empty_type_does_not_match_the_pattern()
    {
        // The attribute passes empty strings on to [Required]; the pattern itself demands one character.
        Assert.DoesNotMatch(NotificationLimits.TypePattern, string.Empty);
    }

    [Theory]
    [InlineData("Order.Shipped")]
    [InlineData("order shipped")]
    [InlineData("order/shipped")]
    [InlineData("order.shipped\n")]
    [InlineData("\norder.shipped")]
    [InlineData("bestellung.verschickt.ä")]
    public void Other_characters_make_an_invalid_type(string type)
    {
        Assert.False(TypeRule.IsValid(type));
    }

    [Theory]
    [InlineData(null, 20)]
    [InlineData(1, 1)]
    [InlineData(50, 50)]
    [InlineData(100, 100)]
    [InlineData(101, 100)]
    [InlineData(int.MaxValue, 100)]
    [InlineData(0, 1)]
    [InlineData(-5, 1)]
    [InlineData(int.MinValue, 1)]
    public void Inbox_page_size_defaults_to_20_and_stays_within_1_to_100(int? requested, int expected)
    {
        Assert.Equal(expected, NotificationLimits.ClampInbox(requested));
    }

    [Theory]
    [InlineData(null, 100)]
    [InlineData(1, 1)]
    [InlineData(1000, 1000)]
    [InlineData(1001, 1000)]
    [InlineData(0, 1)]
    [InlineData(-1, 1)]
    public void Sync_page_size_defaults_to_100_and_stays_within_1_to_1000(int? requested, int expected)
    {
        Assert.Equal(expected, NotificationLimits.ClampSync(requested));
    }
}
