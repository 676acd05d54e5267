namespace Notifications.Infrastructure.Data;

/// <summary>A user's sparse state for one notification; at most one row per user and notification.</summary>
public sealed class Receipt
{
    public required string UserId { get; set; }

    public long NotificationId { get; set; }

    public DateTime? DeliveredAt { get; set; }

    public DateTime? SeenAt { get; set; }

    public DateTime? ReadAt { get; set; }

    public DateTime? ArchivedAt { get; set; }
}

/// <summary>The receipt columns a user can set; each is set once, the first time.</summary>
public enum ReceiptField
{
    Delivered,
    Seen,
    Read,
    Archived,
}
