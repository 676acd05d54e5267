using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class StoredTimeTests
{
    [Fact]
    public void A_time_is_cut_down_to_whole_microseconds_in_UTC()
    {
        var time = new DateTime(2026, 11, 28, 1, 2, 3, DateTimeKind.Utc).AddTicks(1_234_567);

        var stored = StoredTime.ToWholeMicroseconds(time);

        Assert.Equal(time.AddTicks(-7), stored);
        Assert.Equal(DateTimeKind.Utc, stored.Kind);
        Assert.Equal(stored, StoredTime.ToWholeMicroseconds(stored));
    }
}
