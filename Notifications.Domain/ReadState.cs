namespace Notifications.Domain;

/// <summary>A user's state for one notification: a read-all watermark plus a sparse receipt.</summary>
public readonly record struct ReadState(DateTime? ReadAt, DateTime? SeenAt, DateTime? ArchivedAt)
{
    public bool IsUnread => ReadAt is null && ArchivedAt is null;

    /// <summary>
    /// Combines the watermark (read-all up to an id at a time) with the receipt. Each time is the first one: a read
    /// receipt written after a read-all covered the notification does not move when it was read, and read implies seen,
    /// so a seen receipt written after it was read does not make it seen later than read.
    /// </summary>
    public static ReadState Resolve(long notificationId, long watermarkId, DateTime? watermarkAt, DateTime? receiptReadAt, DateTime? receiptSeenAt, DateTime? receiptArchivedAt)
    {
        var readAt = Earliest(receiptReadAt, notificationId <= watermarkId ? watermarkAt : null);
        var seenAt = Earliest(receiptSeenAt, readAt);
        return new ReadState(readAt, seenAt, receiptArchivedAt);
    }

    private static DateTime? Earliest(DateTime? a, DateTime? b) => a is { } x && b is { } y ? (x <= y ? x : y) : a ?? b;

    /// <summary>Whether the notification counts as unread (live, not read by receipt or watermark, not archived).</summary>
    public static bool CountsAsUnread(long notificationId, long watermarkId, bool live, DateTime? receiptReadAt, DateTime? receiptArchivedAt) =>
        live && notificationId > watermarkId && receiptReadAt is null && receiptArchivedAt is null;
}
