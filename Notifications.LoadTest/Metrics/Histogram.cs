using System.Numerics;

namespace Notifications.LoadTest.Metrics;

/// <summary>
/// Log-linear bucket histogram (HdrHistogram-style, 7 significant bits ≈ 0.8 % relative precision) of
/// non-negative values in microseconds. Thread-safe recording with Interlocked; no allocation per value.
/// </summary>
public sealed class Histogram
{
    private const int SubBits = 7;
    private const int SubCount = 1 << SubBits;       // 128 exact values, then 64 buckets per power of two
    private const int HalfCount = SubCount >> 1;
    private const int BucketCount = (64 - SubBits + 1) * HalfCount + SubCount;

    private readonly long[] _counts = new long[BucketCount];
    private long _count;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public long Max => Count == 0 ? 0 : Interlocked.Read(ref _max);

    public void Record(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        Interlocked.Increment(ref _counts[Index(value)]);
        Interlocked.Increment(ref _count);
        Atomic.Max(ref _max, value);
    }

    public void RecordTicks(long stopwatchTicks) => Record(TicksToMicros(stopwatchTicks));

    public static long TicksToMicros(long stopwatchTicks) =>
        (long)(stopwatchTicks * (1_000_000.0 / System.Diagnostics.Stopwatch.Frequency));

    /// <summary>Value at percentile p (0..100): the highest value equivalent to the bucket holding it, capped at max.</summary>
    public long Percentile(double p)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(p / 100.0 * total));
        long seen = 0;
        for (var i = 0; i < BucketCount; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(HighestEquivalent(i), Max);
            }
        }

        return Max;
    }

    /// <summary>Adds p50/p90/p99/p99.9/max in milliseconds, and the count, to <paramref name="metrics"/> as <c>{prefix}_p50_ms</c> ….</summary>
    public void AddSummaryMs(IDictionary<string, double> metrics, string prefix)
    {
        metrics[prefix + "_p50_ms"] = Percentile(50) / 1000.0;
        metrics[prefix + "_p90_ms"] = Percentile(90) / 1000.0;
        metrics[prefix + "_p99_ms"] = Percentile(99) / 1000.0;
        metrics[prefix + "_p999_ms"] = Percentile(99.9) / 1000.0;
        metrics[prefix + "_max_ms"] = Max / 1000.0;
        metrics[prefix + "_count"] = Count;
    }

    internal static int Index(long v)
    {
        if (v < SubCount)
        {
            return (int)v;
        }

        var msb = 63 - BitOperations.LeadingZeroCount((ulong)v);
        var shift = msb - (SubBits - 1);
        return (shift << (SubBits - 1)) + (int)(v >> shift);
    }

    internal static long HighestEquivalent(int index)
    {
        if (index < SubCount)
        {
            return index;
        }

        var shift = (index >> (SubBits - 1)) - 1;
        long top = index - (shift << (SubBits - 1));
        return ((top + 1) << shift) - 1;
    }
}
