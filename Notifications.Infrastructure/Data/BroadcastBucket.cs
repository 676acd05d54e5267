namespace Notifications.Infrastructure.Data;

/// <summary>
/// How many broadcasts are stored with ids in one block of <see cref="IdsPerBucket"/> ids. Kept in step with the
/// notifications in the same transaction (sends add, retention subtracts), so "broadcasts after id x" is a sum over a
/// few bucket rows plus one partial block, not a count over every broadcast ever sent.
/// </summary>
public sealed class BroadcastBucket
{
    public const long IdsPerBucket = 4096;

    public long Bucket { get; set; }

    public long Count { get; set; }

    public static long Of(long notificationId) => notificationId / IdsPerBucket;
}
