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
    /// <see cref="ReadAll.UpToId"/> at or above it, or null when no read-all reached it. Steps are added only by
    /// <see cref="Raise"/>, so their times never go back as their ids rise, and that step is also the earliest one
    /// covering it. PostgreSQL's page statement looks it up the same way (PostgresInboxReads).
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

    /// <summary>
    /// The step a read-all up to <paramref name="upToId"/> at <paramref name="at"/> adds: none when it reaches no id
    /// beyond the last step (it covers nothing new, and what it covers again keeps its first time). Its time is not
    /// before the last step's, even when <paramref name="at"/> is (two racing calls, or instances whose clocks differ),
    /// so that a later step never claims an earlier read than one it covers. The store's upsert applies the same rule
    /// atomically (NotificationsDbContext.RaiseWatermarkAsync).
    /// </summary>
    public ReadAll? Raise(long upToId, DateTime at)
    {
        if (upToId <= UpToId)
        {
            return null;
        }

        return new ReadAll(upToId, steps.Length > 0 && steps[^1].ReadAt > at ? steps[^1].ReadAt : at);
    }
}
