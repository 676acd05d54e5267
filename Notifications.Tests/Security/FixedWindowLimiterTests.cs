using System.Threading.RateLimiting;
using Notifications.Api.Hardening;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// The fixed-window limiter behind both rate limits, with a hand-moved clock: a refusal says how long is left in the
/// current window (the built-in limiter says the whole window), and a window starts at the first acquire after the
/// previous one ended.
/// </summary>
public sealed class FixedWindowLimiterTests : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly SteppedClock clock = new();
    private readonly FixedWindowLimiter limiter;

    public FixedWindowLimiterTests() => limiter = new FixedWindowLimiter(3, Window, clock);

    public void Dispose() => limiter.Dispose();

    [Fact]
    public void Permits_are_granted_up_to_the_limit_and_the_next_is_refused()
    {
        var granted = Enumerable.Range(0, 3).Select(_ => Acquire()).ToList();

        using var refused = limiter.AttemptAcquire();

        Assert.All(granted, Assert.True);
        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out _));
    }

    [Fact]
    public void A_refusal_says_the_time_left_in_the_current_window()
    {
        Exhaust();

        clock.Advance(TimeSpan.FromSeconds(45));
        using var refused = limiter.AttemptAcquire();

        Assert.Equal(TimeSpan.FromSeconds(15), RetryAfter(refused));
        Assert.Equal(15, HubRateLimitFilter.RetryAfterSeconds(refused));
    }

    [Fact]
    public void Retry_after_seconds_round_up_and_are_at_least_one()
    {
        Exhaust();

        using var atStart = limiter.AttemptAcquire();
        clock.Advance(TimeSpan.FromSeconds(44.5));
        using var midway = limiter.AttemptAcquire();
        clock.Advance(TimeSpan.FromSeconds(15.4));
        using var nearTheEnd = limiter.AttemptAcquire();

        Assert.Equal(60, HubRateLimitFilter.RetryAfterSeconds(atStart));
        Assert.Equal(16, HubRateLimitFilter.RetryAfterSeconds(midway));
        Assert.Equal(1, HubRateLimitFilter.RetryAfterSeconds(nearTheEnd));
    }

    [Fact]
    public void The_window_resets_when_it_ends()
    {
        Exhaust();
        clock.Advance(Window - TimeSpan.FromTicks(1));
        Assert.False(Acquire());

        clock.Advance(TimeSpan.FromTicks(1));

        Assert.True(Acquire());
        Assert.True(Acquire());
        Assert.True(Acquire());
        Assert.False(Acquire());
    }

    [Fact]
    public void A_window_starts_at_the_first_acquire_after_the_previous_one_ended()
    {
        Assert.True(Acquire());
        clock.Advance(TimeSpan.FromSeconds(100));
        Exhaust();

        clock.Advance(TimeSpan.FromSeconds(30));
        using var refused = limiter.AttemptAcquire();

        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter(refused));
    }

    [Fact]
    public void Idle_duration_is_null_while_a_window_with_permits_used_runs_and_counts_from_its_end_after()
    {
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(TimeSpan.FromSeconds(5), limiter.IdleDuration);

        Assert.True(Acquire());
        Assert.Null(limiter.IdleDuration);
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(limiter.IdleDuration);

        clock.Advance(TimeSpan.FromSeconds(5));

        Assert.Equal(TimeSpan.FromSeconds(4), limiter.IdleDuration);
    }

    [Fact]
    public void Several_permits_at_once_are_granted_only_whole()
    {
        using var five = new FixedWindowLimiter(5, Window, clock);

        using var three = five.AttemptAcquire(3);
        using var threeMore = five.AttemptAcquire(3);
        using var two = five.AttemptAcquire(2);
        using var probeWhenNoneLeft = five.AttemptAcquire(0);

        Assert.True(three.IsAcquired);
        Assert.False(threeMore.IsAcquired);
        Assert.Equal(Window, RetryAfter(threeMore));
        Assert.True(two.IsAcquired);
        Assert.False(probeWhenNoneLeft.IsAcquired);
        Assert.Throws<ArgumentOutOfRangeException>(() => five.AttemptAcquire(6));
    }

    [Fact]
    public void A_zero_permit_probe_neither_uses_a_permit_nor_starts_a_window()
    {
        using var probe = limiter.AttemptAcquire(0);
        clock.Advance(TimeSpan.FromSeconds(10));
        Exhaust();
        clock.Advance(TimeSpan.FromSeconds(20));

        using var refused = limiter.AttemptAcquire();

        Assert.True(probe.IsAcquired);
        Assert.Equal(TimeSpan.FromSeconds(40), RetryAfter(refused));
    }

    [Fact]
    public async Task Acquiring_asynchronously_never_queues_and_answers_as_an_attempt_does()
    {
        Exhaust();
        clock.Advance(TimeSpan.FromSeconds(50));

        var pending = limiter.AcquireAsync();
        Assert.True(pending.IsCompleted);
        using var refused = await pending.AsTask().WithTimeout(what: "an acquire that must not queue");

        Assert.False(refused.IsAcquired);
        Assert.Equal(TimeSpan.FromSeconds(10), RetryAfter(refused));
        Assert.Equal(0, limiter.GetStatistics()!.CurrentQueuedCount);
    }

    [Fact]
    public void Statistics_count_leases_and_the_permits_left_in_the_running_window()
    {
        Assert.True(Acquire());
        Assert.True(Acquire());
        Assert.Equal(1, limiter.GetStatistics()!.CurrentAvailablePermits);
        Assert.True(Acquire());
        Assert.False(Acquire());

        var during = limiter.GetStatistics()!;
        clock.Advance(Window);
        var after = limiter.GetStatistics()!;

        Assert.Equal((0L, 3L, 1L), (during.CurrentAvailablePermits, during.TotalSuccessfulLeases, during.TotalFailedLeases));
        Assert.Equal(3, after.CurrentAvailablePermits);
    }

    [Fact]
    public void A_disposed_limiter_refuses_to_be_used()
    {
        limiter.Dispose();

        Assert.Throws<ObjectDisposedException>(() => limiter.AttemptAcquire());
    }

    [Fact]
    public void As_partitions_each_key_has_its_own_window_and_its_own_time_left()
    {
        using var partitioned = PartitionedRateLimiter.Create<string, string>(key =>
            RateLimitPartition.Get(key, _ => HubRateLimitFilter.PerMinute(1, clock)));
        using var first = partitioned.AttemptAcquire("a");
        clock.Advance(TimeSpan.FromSeconds(20));
        using var other = partitioned.AttemptAcquire("b");
        clock.Advance(TimeSpan.FromSeconds(10));

        using var refusedA = partitioned.AttemptAcquire("a");
        using var refusedB = partitioned.AttemptAcquire("b");

        Assert.True(first.IsAcquired);
        Assert.True(other.IsAcquired);
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter(refusedA));
        Assert.Equal(TimeSpan.FromSeconds(50), RetryAfter(refusedB));
    }

    private bool Acquire()
    {
        using var lease = limiter.AttemptAcquire();
        return lease.IsAcquired;
    }

    private void Exhaust()
    {
        for (var i = 0; i < 3; i++)
        {
            Assert.True(Acquire());
        }
    }

    private static TimeSpan RetryAfter(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : throw new Xunit.Sdk.XunitException("The refusal has no RetryAfter.");
}
