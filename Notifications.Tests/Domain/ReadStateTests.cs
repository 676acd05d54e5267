using Notifications.Domain;

namespace Notifications.Tests.Domain;

public sealed class ReadStateTests
{
    private static readonly DateTime T0 = new(2026, 11, 25, 21, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime T1 = T0.AddMinutes(1);
    private static readonly DateTime T2 = T0.AddMinutes(2);

    private static ReadAllHistory UpTo(long id, DateTime? at) => at is { } time ? new([new ReadAll(id, time)]) : ReadAllHistory.None;

    [Fact]
    public void Without_watermark_or_receipt_a_notification_is_unread_unseen_and_not_archived()
    {
        var state = ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: null, receiptSeenAt: null, receiptArchivedAt: null);

        Assert.Equal(new ReadState(null, null, null), state);
        Assert.True(state.IsUnread);
    }

    [Fact]
    public void Watermark_equal_to_the_id_marks_it_read()
    {
        var state = ReadState.Resolve(10, UpTo(10, T1), null, null, null);

        Assert.Equal(T1, state.ReadAt);
        Assert.False(state.IsUnread);
    }

    [Fact]
    public void Watermark_above_the_id_marks_it_read()
    {
        Assert.Equal(T1, ReadState.Resolve(10, UpTo(500, T1), null, null, null).ReadAt);
    }

    [Fact]
    public void Watermark_one_below_the_id_leaves_it_unread()
    {
        var state = ReadState.Resolve(10, UpTo(9, T1), null, null, null);

        Assert.Null(state.ReadAt);
        Assert.Null(state.SeenAt);
        Assert.True(state.IsUnread);
    }

    [Fact]
    public void Read_by_watermark_implies_seen_at_the_same_time()
    {
        Assert.Equal(T1, ReadState.Resolve(10, UpTo(10, T1), null, null, null).SeenAt);
    }

    [Fact]
    public void Read_by_receipt_implies_seen_at_the_same_time()
    {
        var state = ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: T1, receiptSeenAt: null, receiptArchivedAt: null);

        Assert.Equal(T1, state.ReadAt);
        Assert.Equal(T1, state.SeenAt);
    }

    [Fact]
    public void An_earlier_seen_receipt_is_kept_when_it_was_read_later()
    {
        var state = ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: T2, receiptSeenAt: T1, receiptArchivedAt: null);

        Assert.Equal(T2, state.ReadAt);
        Assert.Equal(T1, state.SeenAt);
    }

    [Fact]
    public void The_read_receipt_time_wins_over_a_watermark_that_also_covers_it()
    {
        var state = ReadState.Resolve(10, UpTo(20, T2), receiptReadAt: T1, receiptSeenAt: null, receiptArchivedAt: null);

        Assert.Equal(T1, state.ReadAt);
    }

    [Fact]
    public void A_read_receipt_written_after_a_read_all_keeps_the_read_all_time()
    {
        var state = ReadState.Resolve(10, UpTo(20, T1), receiptReadAt: T2, receiptSeenAt: null, receiptArchivedAt: null);

        Assert.Equal(new ReadState(T1, T1, null), state);
    }

    [Fact]
    public void A_seen_receipt_written_after_it_was_read_does_not_make_it_seen_later_than_read()
    {
        Assert.Equal(new ReadState(T1, T1, null), ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: T1, receiptSeenAt: T2, receiptArchivedAt: null));
        Assert.Equal(new ReadState(T1, T1, null), ReadState.Resolve(10, UpTo(10, T1), receiptReadAt: null, receiptSeenAt: T2, receiptArchivedAt: null));
    }

    [Fact]
    public void Seen_only_is_still_unread()
    {
        var state = ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: null, receiptSeenAt: T1, receiptArchivedAt: null);

        Assert.Equal(new ReadState(null, T1, null), state);
        Assert.True(state.IsUnread);
    }

    [Fact]
    public void Archived_is_not_unread_though_never_read()
    {
        var state = ReadState.Resolve(10, ReadAllHistory.None, receiptReadAt: null, receiptSeenAt: null, receiptArchivedAt: T1);

        Assert.Equal(new ReadState(null, null, T1), state);
        Assert.False(state.IsUnread);
    }

    [Fact]
    public void Archive_time_comes_from_the_receipt_beside_a_covering_watermark()
    {
        var state = ReadState.Resolve(10, UpTo(10, T1), receiptReadAt: null, receiptSeenAt: null, receiptArchivedAt: T2);

        Assert.Equal(new ReadState(T1, T1, T2), state);
    }

    [Fact]
    public void Live_notification_above_the_watermark_without_receipt_counts_as_unread()
    {
        Assert.True(ReadState.CountsAsUnread(10, watermarkId: 9, live: true, receiptReadAt: null, receiptArchivedAt: null));
    }

    [Fact]
    public void Notification_at_the_watermark_leaves_the_unread_count()
    {
        Assert.False(ReadState.CountsAsUnread(10, watermarkId: 10, live: true, receiptReadAt: null, receiptArchivedAt: null));
    }

    [Fact]
    public void Read_notification_leaves_the_unread_count()
    {
        Assert.False(ReadState.CountsAsUnread(10, watermarkId: 0, live: true, receiptReadAt: T1, receiptArchivedAt: null));
    }

    [Fact]
    public void Archived_notification_leaves_the_unread_count()
    {
        Assert.False(ReadState.CountsAsUnread(10, watermarkId: 0, live: true, receiptReadAt: null, receiptArchivedAt: T1));
    }

    [Fact]
    public void Expired_notification_leaves_the_unread_count()
    {
        var expiresAt = T1;
        var live = Visibility.IsLive(retractedAt: null, expiresAt, now: expiresAt);

        Assert.False(ReadState.CountsAsUnread(10, watermarkId: 0, live, receiptReadAt: null, receiptArchivedAt: null));
    }

    [Fact]
    public void Retracted_notification_leaves_the_unread_count()
    {
        var live = Visibility.IsLive(retractedAt: T1, expiresAt: null, now: T2);

        Assert.False(ReadState.CountsAsUnread(10, watermarkId: 0, live, receiptReadAt: null, receiptArchivedAt: null));
    }

    public static TheoryData<long, DateTime?, DateTime?, DateTime?> ReadStates => new()
    {
        { 0, null, null, null },
        { 9, null, null, null },
        { 10, null, null, null },
        { 11, null, null, null },
        { 0, T1, null, null },
        { 0, null, T1, null },
        { 0, null, null, T1 },
        { 10, T1, T1, T1 },
        { 9, null, T1, null },
        { 9, T2, T1, null },
    };

    [Theory]
    [MemberData(nameof(ReadStates))]
    public void The_unread_count_agrees_with_the_resolved_state_of_a_live_notification(long watermarkId, DateTime? readAt, DateTime? seenAt, DateTime? archivedAt)
    {
        var state = ReadState.Resolve(10, UpTo(watermarkId, T0), readAt, seenAt, archivedAt);

        Assert.Equal(state.IsUnread, ReadState.CountsAsUnread(10, watermarkId, live: true, readAt, archivedAt));
        Assert.False(ReadState.CountsAsUnread(10, watermarkId, live: false, readAt, archivedAt));
    }

    [Theory]
    [MemberData(nameof(ReadStates))]
    public void Read_always_implies_seen(long watermarkId, DateTime? readAt, DateTime? seenAt, DateTime? archivedAt)
    {
        var state = ReadState.Resolve(10, UpTo(watermarkId, T0), readAt, seenAt, archivedAt);

        Assert.True(state.ReadAt is null || state.SeenAt is not null);
    }
}
