using Notifications.Api.Inbox;

namespace Notifications.Api.Hubs;

/// <summary>What the server calls on clients. Names and payloads are the public contract.</summary>
public interface INotificationClient
{
    Task ReceiveNotification(NotificationDto notification);

    Task UnreadCountChanged(int count);

    Task NotificationsRead(long[] ids);

    Task AllRead(AllReadPayload payload);

    Task NotificationRetracted(long id);
}
