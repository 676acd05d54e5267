using System.Diagnostics;

namespace Notifications.LoadTest.Seeding;

/// <summary>What a bulk seed wrote, as counted by the database.</summary>
public sealed record BulkSeedResult(
    long FirstId,
    long LastId,
    long MaxId,
    long Notifications,
    long AudienceRows,
    long Watermarks,
    long ReadAllSteps,
    double InsertSeconds,
    double MaintenanceSeconds)
{
    public long Rows => Notifications + AudienceRows + Watermarks + ReadAllSteps;

    /// <summary>Rows written per second, up to the commit (maintenance afterwards not included).</summary>
    public double RowsPerSecond => Rows / Math.Max(0.001, InsertSeconds);
}

/// <summary>
/// Writes S5's store (<see cref="SeedShape"/>) straight into the service's database with set-based SQL, in one
/// transaction, after the service has created its schema. Rows look as the service's own send path writes them,
/// except that the outbox stays empty: seeded notifications are history, never pushed. Ids continue the table's
/// identity, and CreatedAt rises with the id, one millisecond apart, ending just before the seed started.
/// </summary>
public abstract class BulkSeeder
{
    /// <summary>Rows per statement: bounds each statement's duration and gives the progress line something to show.</summary>
    protected const int Chunk = 100_000;

    private long _written;

    public abstract string Provider { get; }

    /// <summary>Rows written so far (for the progress line).</summary>
    public long Written => Interlocked.Read(ref _written);

    public static BulkSeeder Create(string provider, string connectionString) => provider.ToLowerInvariant() switch
    {
        "postgres" or "postgresql" => new PostgresBulkSeeder(connectionString),
        "sqlite" => new SqliteBulkSeeder(connectionString),
        _ => throw new ArgumentException($"--seed-db: '{provider}' is not postgres or sqlite"),
    };

    public async Task<BulkSeedResult> SeedAsync(SeedShape shape, CancellationToken ct)
    {
        var end = DateTime.UtcNow;
        var t0 = Stopwatch.GetTimestamp();
        var inserted = await InsertAsync(shape, EndMilliseconds(end), ct);
        var insertSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var t1 = Stopwatch.GetTimestamp();
        var maxId = await AfterCommitAsync(ct);
        return inserted with
        {
            MaxId = maxId,
            InsertSeconds = insertSeconds,
            MaintenanceSeconds = Stopwatch.GetElapsedTime(t1).TotalSeconds,
        };
    }

    /// <summary>Writes everything in one transaction; <paramref name="endMs"/> (Unix ms) is one step after the last CreatedAt.</summary>
    protected abstract Task<BulkSeedResult> InsertAsync(SeedShape shape, long endMs, CancellationToken ct);

    /// <summary>Provider upkeep a store in use would have had by now; returns the highest notification id.</summary>
    protected abstract Task<long> AfterCommitAsync(CancellationToken ct);

    protected void AddWritten(long rows) => Interlocked.Add(ref _written, rows);

    /// <summary>The watermark's ReadAt: half a step before the first notification of the second half.</summary>
    protected static DateTime ReadAtOf(SeedShape shape, long endMs) =>
        DateTime.UnixEpoch.AddMilliseconds(endMs - (shape.Notifications - shape.FirstHalf)).AddTicks(-TimeSpan.TicksPerMillisecond / 2);

    /// <summary>Whole milliseconds, so each CreatedAt is exact in every provider's text or binary form.</summary>
    private static long EndMilliseconds(DateTime utc) => (utc - DateTime.UnixEpoch).Ticks / TimeSpan.TicksPerMillisecond;

    protected static IEnumerable<(long From, long To)> Chunks(long count)
    {
        for (long from = 0; from < count; from += Chunk)
        {
            yield return (from, Math.Min(count, from + Chunk));
        }
    }

    protected static InvalidOperationException NotMigrated(string provider) =>
        new($"{provider}: table \"Notifications\" not found; start the service once with Database__MigrateOnStartup=true so it creates its schema, then seed");
}
