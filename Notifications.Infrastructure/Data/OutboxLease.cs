namespace Notifications.Infrastructure.Data;

/// <summary>Who owns the pushes of freshly written sends, and until when (after that, any instance's sweep may take them).</summary>
public sealed record OutboxLease(DateTime CreatedAt, DateTime LeaseUntil, string LeasedBy)
{
    public OutboxEntry EntryFor(long notificationId) =>
        new() { NotificationId = notificationId, Kind = OutboxKind.Send, CreatedAt = CreatedAt, LeaseUntil = LeaseUntil, LeasedBy = LeasedBy };
}
