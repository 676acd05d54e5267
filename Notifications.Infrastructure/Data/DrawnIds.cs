namespace Notifications.Infrastructure.Data;

/// <summary>Ids drawn for a group of sends before it is written: notification and outbox ids, each ascending.</summary>
public sealed record DrawnIds(long[] NotificationIds, long[] OutboxIds)
{
    public int Count => NotificationIds.Length;
}
