namespace Notifications.Domain;

/// <summary>One step of a user's read-all history: every notification with an id up to <see cref="UpToId"/> was read by <see cref="ReadAt"/>.</summary>
public readonly record struct ReadAll(long UpToId, DateTime ReadAt);

/// <summary>
/// A user's read-alls, one step for each that covered something new. A later read-all covers the earlier ones' ids
/// again, so one watermark with the latest time would move when those were read; each step keeps its own time, and a
/// notification was read by read-all when the first step that reached its id was taken.
/// </summary>
public sealed class ReadAllHistory
{
    public static ReadAllHistory None { get; } = new([]);

    private readonly ReadAll[] steps;

    public ReadAllHistory(IEnumerable<ReadAll> steps) => this.steps = [.. steps.OrderBy(s => s.UpToId)];

    /// <summary>The highest id read by read-all (0 when none): all the unread count and the unread filters need.</summary>
    public long UpToId => steps.Length == 0 ? 0 : steps[^1].UpToId;

    /// <summary>
    /// When read-all first covered <paramref name="notificationId"/>: the time of the step with the lowest
    /// <see cref="ReadAll.UpToId"/> at or above it, or null when no read-all reached it. The store adds a step only
    /// when a read-all reaches a new id, never dated before the step below it (NotificationsDbContext.RaiseWatermarkAsync),
    /// so that step is also the earliest one covering it. PostgreSQL's page statement looks it up the same way (PostgresInboxReads).
    /// </summary>
    public DateTime? ReadAtOf(long notificationId)
    {
        var (low, high) = (0, steps.Length);
        while (low < high)
        {
            var middle = (low + high) >>> 1;
            if (steps[middle].UpToId < notificationId)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }

        return low < steps.Length ? steps[low].ReadAt : null;
    }
}
