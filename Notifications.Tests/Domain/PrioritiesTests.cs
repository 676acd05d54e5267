using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class PrioritiesTests
{
    [Fact]
    public void Priorities_are_low_normal_high_critical_in_rising_order()
    {
        Assert.Equal(["low", "normal", "high", "critical"], Priorities.Names);
        Assert.Equal([Priority.Low, Priority.Normal, Priority.High, Priority.Critical], Enum.GetValues<Priority>().Order());
    }

    [Theory]
    [InlineData(Priority.Low, "low")]
    [InlineData(Priority.Normal, "normal")]
    [InlineData(Priority.High, "high")]
    [InlineData(Priority.Critical, "critical")]
    public void Each_priority_has_its_contract_name_and_parses_back(Priority priority, string name)
    {
        Assert.Equal(name, priority.ToName());
        Assert.True(Priorities.TryParse(name, out var parsed));
        Assert.Equal(priority, parsed);
    }

    [Fact]
    public void Missing_priority_is_normal()
    {
        Assert.True(Priorities.TryParse(null, out var parsed));
        Assert.Equal(Priority.Normal, parsed);
    }

    [Theory]
    [InlineData("")]
    [InlineData("urgent")]
    [InlineData("High")]
    [InlineData("CRITICAL")]
    [InlineData(" low")]
    [InlineData("1")]
    public void Unknown_names_do_not_parse_and_fall_back_to_normal(string name)
    {
        Assert.False(Priorities.TryParse(name, out var parsed));
        Assert.Equal(Priority.Normal, parsed);
    }
}
