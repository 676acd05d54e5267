using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// The SDK's bookkeeping of which ids are raised and where a catch-up resumes, with a hand-moved clock.
/// (The integration tests show the same behaviour end to end; here each rule is pinned at its edge.)
/// </summary>
public sealed class DeliveryTrackerTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private readonly SteppedClock clock = new();

    [Fact]
    public void An_id_is_claimed_once()
    {
        var tracker = Tracker();

        Assert.True(tracker.TryClaim(7, live: false));
        Assert.False(tracker.TryClaim(7, live: false));
    }

    [Fact]
    public void A_retracted_id_is_never_claimed_and_its_retraction_counts_once()
    {
        var tracker = Tracker();

        Assert.True(tracker.Retract(7));
        Assert.False(tracker.Retract(7));
        Assert.False(tracker.TryClaim(7, live: false));
    }

    [Fact]
    public void A_live_push_during_a_catch_up_larger_than_the_dedup_set_is_not_raised_again_when_the_catch_up_fetches_it()
    {
        var tracker = Tracker(capacity: 3);
        var sync = tracker.BeginSync();
        Assert.True(tracker.TryClaim(100, live: true));
        foreach (var older in new long[] { 1, 2, 3, 4 })
        {
            Assert.True(tracker.TryClaim(older, live: false));
        }

        Assert.False(tracker.TryClaim(100, live: false));
        tracker.Advance(100, live: false);
        tracker.EndSync(sync);
        Assert.False(tracker.TryClaim(100, live: true));
    }

    [Fact]
    public void The_dedup_set_forgets_the_oldest_id_beyond_its_capacity()
    {
        var tracker = Tracker(capacity: 2);
        tracker.TryClaim(1, live: false);
        tracker.TryClaim(2, live: false);
        tracker.TryClaim(3, live: false);

        Assert.False(tracker.TryClaim(3, live: false));
        Assert.True(tracker.TryClaim(1, live: false));
    }

    [Fact]
    public void Ids_up_to_the_saved_cursor_are_not_raised_again()
    {
        var tracker = Tracker(initialCursor: 42);

        Assert.False(tracker.TryClaim(41, live: false));
        Assert.False(tracker.TryClaim(42, live: false));
        Assert.True(tracker.TryClaim(43, live: false));
    }

    [Fact]
    public void A_late_repeat_of_a_synced_id_is_not_raised_though_the_dedup_set_forgot_it()
    {
        var tracker = Tracker(capacity: 2);
        var sync = tracker.BeginSync();
        DeliverPage(tracker, 1, 10);
        tracker.EndSync(sync);

        Assert.False(tracker.TryClaim(3, live: false));
    }

    [Fact]
    public void A_live_id_below_the_cursor_that_a_later_live_push_overtook_is_still_raised()
    {
        var tracker = CaughtUp(at: 10);
        Assert.True(tracker.TryClaim(12, live: false));
        tracker.Advance(12, live: true);

        Assert.True(tracker.TryClaim(11, live: false));
    }

    [Fact]
    public void Cursor_starts_at_the_saved_cursor()
    {
        Assert.Equal(42, Tracker(initialCursor: 42).Cursor);
    }

    [Fact]
    public void The_first_sync_starts_after_the_saved_cursor()
    {
        Assert.Equal(42, Tracker(initialCursor: 42).BeginSync().AfterId);
    }

    [Fact]
    public void Once_caught_up_a_live_push_moves_the_cursor()
    {
        var tracker = CaughtUp(at: 10);

        tracker.Advance(11, live: true);

        Assert.Equal(11, tracker.Cursor);
    }

    [Fact]
    public void A_live_push_before_the_first_catch_up_moves_the_cursor_only_when_it_completes()
    {
        var tracker = Tracker();
        tracker.Advance(50, live: true);
        Assert.Equal(0, tracker.Cursor);

        var sync = tracker.BeginSync();
        DeliverPage(tracker, 1, 10);
        Assert.Equal(10, tracker.Cursor);
        tracker.EndSync(sync);

        Assert.Equal(50, tracker.Cursor);
    }

    [Fact]
    public void A_live_push_during_a_catch_up_does_not_move_the_cursor_past_ids_still_to_be_synced()
    {
        var tracker = CaughtUp(at: 10);
        tracker.MarkDisconnected();
        var sync = tracker.BeginSync();
        DeliverPage(tracker, 11, 20);

        tracker.Advance(100, live: true);
        Assert.Equal(20, tracker.Cursor);
        DeliverPage(tracker, 21, 30);
        Assert.Equal(30, tracker.Cursor);
        tracker.EndSync(sync);

        Assert.Equal(100, tracker.Cursor);
    }

    [Fact]
    public void After_a_drop_live_pushes_wait_for_the_catch_up_before_moving_the_cursor()
    {
        var tracker = CaughtUp(at: 10);
        tracker.MarkDisconnected();

        tracker.Advance(100, live: true);

        Assert.Equal(10, tracker.Cursor);
        Assert.Equal(10, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void An_aborted_catch_up_leaves_the_cursor_where_its_pages_got_and_the_next_one_resumes_there()
    {
        var tracker = CaughtUp(at: 10);
        tracker.MarkDisconnected();
        tracker.BeginSync();
        DeliverPage(tracker, 11, 20);
        tracker.Advance(100, live: true);

        tracker.AbortSync();
        tracker.Advance(101, live: true);
        Assert.Equal(20, tracker.Cursor);
        var next = tracker.BeginSync();
        DeliverPage(tracker, 21, 30);
        tracker.EndSync(next);

        Assert.Equal(20, next.AfterId);
        Assert.Equal(101, tracker.Cursor);
    }

    [Fact]
    public void A_catch_up_resumes_from_before_live_pushes_received_within_the_reorder_window_before_the_drop()
    {
        var tracker = CaughtUp(at: 10);
        tracker.Advance(11, live: true);
        tracker.Advance(12, live: true);
        clock.Advance(Window);

        tracker.MarkDisconnected();

        Assert.Equal(10, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void The_cursor_to_persist_stays_below_live_pushes_of_the_last_reorder_window()
    {
        var tracker = CaughtUp(at: 10);
        tracker.Advance(12, live: true);

        Assert.Equal(12, tracker.Cursor);
        Assert.Equal(10, tracker.ResumeCursor);
        clock.Advance(Window + TimeSpan.FromTicks(1));
        Assert.Equal(12, tracker.ResumeCursor);
    }

    [Fact]
    public void A_catch_up_does_not_resume_below_live_pushes_older_than_the_reorder_window()
    {
        var tracker = CaughtUp(at: 10);
        tracker.Advance(11, live: true);
        clock.Advance(Window + TimeSpan.FromTicks(1));
        tracker.Advance(12, live: true);

        tracker.MarkDisconnected();

        Assert.Equal(11, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void A_zero_reorder_window_resumes_from_the_cursor()
    {
        var tracker = CaughtUp(at: 10, window: TimeSpan.Zero);
        tracker.Advance(11, live: true);
        clock.Advance(TimeSpan.FromTicks(1));

        tracker.MarkDisconnected();

        Assert.Equal(11, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void The_reorder_window_counts_back_from_the_first_drop_of_an_outage()
    {
        var tracker = CaughtUp(at: 10);
        tracker.Advance(11, live: true);
        tracker.MarkDisconnected();
        clock.Advance(TimeSpan.FromMinutes(5));

        // Reconnected, then dropped again before any catch-up completed: still one outage.
        tracker.MarkDisconnected();

        Assert.Equal(10, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void A_completed_catch_up_is_not_fetched_again_after_the_next_drop()
    {
        // A catch-up larger than the de-dup set, re-fetched, would raise the evicted ids a second time.
        var tracker = CaughtUp(at: 0, capacity: 10, window: TimeSpan.FromMinutes(5));
        tracker.Advance(1, live: true);
        tracker.MarkDisconnected();
        var catchUp = tracker.BeginSync();
        Assert.Equal(0, catchUp.AfterId);
        DeliverPage(tracker, 1, 50);
        tracker.EndSync(catchUp);
        clock.Advance(TimeSpan.FromSeconds(1));

        tracker.MarkDisconnected();

        Assert.Equal(50, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void Live_pushes_that_came_during_a_catch_up_count_for_the_reorder_window_from_its_end()
    {
        var tracker = CaughtUp(at: 10);
        tracker.MarkDisconnected();
        var catchUp = tracker.BeginSync();
        DeliverPage(tracker, 11, 20);
        tracker.Advance(22, live: true);
        tracker.EndSync(catchUp);
        clock.Advance(TimeSpan.FromSeconds(1));

        // 21 may still be on its way: a drop now must fetch it.
        tracker.MarkDisconnected();

        Assert.Equal(20, tracker.BeginSync().AfterId);
    }

    [Fact]
    public void A_manual_sync_while_connected_resumes_within_the_window_back_from_now()
    {
        var tracker = CaughtUp(at: 10);
        tracker.Advance(11, live: true);
        clock.Advance(Window + TimeSpan.FromTicks(1));

        Assert.Equal(11, tracker.BeginSync().AfterId);
    }

    private DeliveryTracker Tracker(long initialCursor = 0, int capacity = 100, TimeSpan? window = null) =>
        new(initialCursor, capacity, window ?? Window, clock);

    /// <summary>A tracker whose first catch-up completed at <paramref name="at"/>: live pushes now move the cursor.</summary>
    private DeliveryTracker CaughtUp(long at, int capacity = 100, TimeSpan? window = null)
    {
        var tracker = Tracker(initialCursor: at, capacity, window);
        tracker.EndSync(tracker.BeginSync());
        return tracker;
    }

    private static void DeliverPage(DeliveryTracker tracker, long from, long to)
    {
        for (var id = from; id <= to; id++)
        {
            tracker.TryClaim(id, live: false);
            tracker.Advance(id, live: false);
        }

        tracker.Advance(to, live: false);
    }
}
