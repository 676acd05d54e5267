namespace Notifications.Domain;

/// <summary>A user's state for one notification: a read-all watermark plus a sparse receipt.</summary>
public readonly record struct ReadState(DateTime? ReadAt, DateTime? SeenAt, DateTime? ArchivedAt)
{
    public bool IsUnread => ReadAt is null && ArchivedAt is null;

    /// <summary>
    /// Combines the watermark (read-all up to an id at a time) with the receipt; read implies seen.
    /// </summary>
    public static ReadState Resolve(long notificationId, long watermarkId, DateTime? watermarkAt, DateTime? receiptReadAt, DateTime? receiptSeenAt, DateTime? receiptArchivedAt)
    {
        var readAt = receiptReadAt ?? (notificationId <= watermarkId ? watermarkAt : null);
        var seenAt = receiptSeenAt ?? readAt;
        return new ReadState(readAt, seenAt, receiptArchivedAt);
    }

    /// <summary>Whether the notification counts as unread (live, not read by receipt or watermark, not archived).</summary>
    public static bool CountsAsUnread(long notificationId, long watermarkId, bool live, DateTime? receiptReadAt, DateTime? receiptArchivedAt) =>
        live && notificationId > watermarkId && receiptReadAt is null && receiptArchivedAt is null;
}
