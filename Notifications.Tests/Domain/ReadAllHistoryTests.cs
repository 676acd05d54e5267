using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class ReadAllHistoryTests
{
    private static readonly DateTime Monday = new(2026, 11, 23, 9, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Wednesday = Monday.AddDays(2);
    private static readonly DateTime Friday = Monday.AddDays(4);

    private static readonly ReadAllHistory MondayAndFriday = new([new ReadAll(10, Monday), new ReadAll(20, Friday)]);

    [Fact]
    public void A_notification_covered_by_two_read_alls_was_read_at_the_first()
    {
        Assert.Equal(Monday, MondayAndFriday.ReadAtOf(1));
        Assert.Equal(Monday, MondayAndFriday.ReadAtOf(10));
    }

    [Fact]
    public void A_notification_only_the_later_read_all_reached_was_read_at_the_later()
    {
        Assert.Equal(Friday, MondayAndFriday.ReadAtOf(11));
        Assert.Equal(Friday, MondayAndFriday.ReadAtOf(20));
    }

    [Fact]
    public void A_notification_beyond_every_read_all_is_not_read_by_read_all()
    {
        Assert.Null(MondayAndFriday.ReadAtOf(21));
        Assert.Null(ReadAllHistory.None.ReadAtOf(1));
    }

    [Fact]
    public void Steps_are_looked_up_by_id_whatever_order_they_were_given_in()
    {
        var history = new ReadAllHistory([new ReadAll(30, Friday), new ReadAll(10, Monday), new ReadAll(20, Wednesday)]);

        Assert.Equal([Monday, Monday, Wednesday, Wednesday, Friday, Friday, null], new long[] { 9, 10, 11, 20, 21, 30, 31 }.Select(history.ReadAtOf));
        Assert.Equal(30, history.UpToId);
    }

    [Fact]
    public void The_highest_id_read_is_the_last_steps_and_zero_without_read_all()
    {
        Assert.Equal(20, MondayAndFriday.UpToId);
        Assert.Equal(0, ReadAllHistory.None.UpToId);
    }

    [Fact]
    public void An_earlier_read_receipt_wins_over_the_read_all_that_first_covered_it()
    {
        Assert.Equal(Monday, ReadState.Resolve(15, MondayAndFriday, receiptReadAt: Monday, receiptSeenAt: null, receiptArchivedAt: null).ReadAt);
    }

    [Fact]
    public void A_read_receipt_after_the_first_covering_read_all_keeps_that_read_alls_time_though_a_later_one_covers_it_too()
    {
        var state = ReadState.Resolve(5, MondayAndFriday, receiptReadAt: Wednesday, receiptSeenAt: null, receiptArchivedAt: null);

        Assert.Equal(new ReadState(Monday, Monday, null), state);
    }

    [Fact]
    public void Unread_counts_need_only_the_highest_id_read()
    {
        Assert.False(ReadState.CountsAsUnread(15, MondayAndFriday.UpToId, live: true, receiptReadAt: null, receiptArchivedAt: null));
        Assert.True(ReadState.CountsAsUnread(21, MondayAndFriday.UpToId, live: true, receiptReadAt: null, receiptArchivedAt: null));
    }
}
