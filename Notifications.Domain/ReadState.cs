namespace Notifications.Domain;

/// <summary>A user's state for one notification: their read-all history plus a sparse receipt.</summary>
public readonly record struct ReadState(DateTime? ReadAt, DateTime? SeenAt, DateTime? ArchivedAt)
{
    public bool IsUnread => ReadAt is null && ArchivedAt is null;

    /// <summary>
    /// Combines read-all with the receipt. Each time is the first one: a read receipt written after a read-all covered
    /// the notification does not move when it was read, nor does a later read-all (<see cref="ReadAllHistory"/>), and
    /// read implies seen, so a seen receipt written after it was read does not make it seen later than read.
    /// <paramref name="readAllAt"/> is when read-all first covered the notification (<see cref="ReadAllHistory.ReadAtOf"/>).
    /// </summary>
    public static ReadState Resolve(DateTime? readAllAt, DateTime? receiptReadAt, DateTime? receiptSeenAt, DateTime? receiptArchivedAt)
    {
        var readAt = Earliest(receiptReadAt, readAllAt);
        var seenAt = Earliest(receiptSeenAt, readAt);
        return new ReadState(readAt, seenAt, receiptArchivedAt);
    }

    public static ReadState Resolve(long notificationId, ReadAllHistory readAlls, DateTime? receiptReadAt, DateTime? receiptSeenAt, DateTime? receiptArchivedAt) =>
        Resolve(readAlls.ReadAtOf(notificationId), receiptReadAt, receiptSeenAt, receiptArchivedAt);

    private static DateTime? Earliest(DateTime? a, DateTime? b) => a is { } x && b is { } y ? (x <= y ? x : y) : a ?? b;

    /// <summary>
    /// Whether the notification counts as unread (live, not read by receipt or read-all, not archived). Only the highest
    /// id read-all reached matters here (<see cref="ReadAllHistory.UpToId"/>), not when each step was taken.
    /// </summary>
    public static bool CountsAsUnread(long notificationId, long watermarkId, bool live, DateTime? receiptReadAt, DateTime? receiptArchivedAt) =>
        live && notificationId > watermarkId && receiptReadAt is null && receiptArchivedAt is null;
}
