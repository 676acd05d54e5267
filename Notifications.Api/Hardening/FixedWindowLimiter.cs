using System.Threading.RateLimiting;

namespace Notifications.Api.Hardening;

/// <summary>
/// A fixed-window limiter whose refusals carry the time left in the current window as <see cref="MetadataName.RetryAfter"/>.
/// The built-in <see cref="FixedWindowRateLimiter"/> always answers the whole window there, so a client could be told to
/// wait 60 s for a window that ends in 3. Windows are counted lazily: one starts at the first acquire after the previous
/// one ended, and no timer runs. Nothing queues (a refusal is immediate, as with a queue limit of 0).
/// </summary>
public sealed class FixedWindowLimiter : RateLimiter
{
    private static readonly RateLimitLease Acquired = new Lease(null);

    private readonly Lock gate = new();
    private readonly int permitLimit;
    private readonly TimeSpan window;
    private readonly TimeProvider time;
    private readonly long createdAt;
    private long windowStart;

    // 0 until the first window starts; after that the permits used in the latest window, which counts only while it runs.
    private int used;
    private long successfulLeases;
    private long failedLeases;
    private bool disposed;

    public FixedWindowLimiter(int permitLimit, TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(permitLimit);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        this.permitLimit = permitLimit;
        this.window = window;
        this.time = time;
        createdAt = time.GetTimestamp();
    }

    /// <summary>
    /// Null while a window with permits used runs (its count must survive); otherwise how long since the latest window
    /// ended, or since creation. Partitioned limiters dispose partitions idle for long.
    /// </summary>
    public override TimeSpan? IdleDuration
    {
        get
        {
            lock (gate)
            {
                if (used == 0)
                {
                    return time.GetElapsedTime(createdAt);
                }

                var sinceStart = time.GetElapsedTime(windowStart);
                return sinceStart < window ? null : sinceStart - window;
            }
        }
    }

    public override RateLimiterStatistics? GetStatistics()
    {
        lock (gate)
        {
            return new RateLimiterStatistics
            {
                CurrentAvailablePermits = permitLimit - UsedInRunningWindow(time.GetTimestamp()),
                CurrentQueuedCount = 0,
                TotalSuccessfulLeases = successfulLeases,
                TotalFailedLeases = failedLeases,
            };
        }
    }

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        // As the built-in: a request the limit can never grant is a caller's error, not a refusal to retry.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(permitCount, permitLimit);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            var now = time.GetTimestamp();
            var inWindow = UsedInRunningWindow(now);
            // A zero-permit probe succeeds only while a permit is left, and starts no window.
            if (permitCount == 0 ? inWindow < permitLimit : inWindow + permitCount <= permitLimit)
            {
                if (permitCount > 0)
                {
                    if (inWindow == 0)
                    {
                        windowStart = now;
                    }

                    used = inWindow + permitCount;
                }

                successfulLeases++;
                return Acquired;
            }

            failedLeases++;
            return new Lease(window - time.GetElapsedTime(windowStart, now));
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
        new(AttemptAcquireCore(permitCount));

    protected override void Dispose(bool disposing)
    {
        lock (gate)
        {
            disposed = true;
        }
    }

    private int UsedInRunningWindow(long now) => used > 0 && time.GetElapsedTime(windowStart, now) < window ? used : 0;

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        private static readonly string[] RetryAfterName = [MetadataName.RetryAfter.Name];

        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : RetryAfterName;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (retryAfter is { } value && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = value;
                return true;
            }

            metadata = null;
            return false;
        }
    }
}
