namespace Notifications.Client;

/// <summary>Method names of hub <c>/hubs/notifications</c> (contract v1); one place so a rename is one edit.</summary>
internal static class HubMethodNames
{
    public const string HubPath = "hubs/notifications";

    // server -> client
    public const string ReceiveNotification = "ReceiveNotification";
    public const string UnreadCountChanged = "UnreadCountChanged";
    public const string NotificationsRead = "NotificationsRead";
    public const string AllRead = "AllRead";
    public const string NotificationRetracted = "NotificationRetracted";

    // client -> server
    public const string Subscribe = "Subscribe";
    public const string Unsubscribe = "Unsubscribe";
    public const string Ack = "Ack";
    public const string MarkRead = "MarkRead";
    public const string MarkAllRead = "MarkAllRead";
    public const string MarkSeen = "MarkSeen";
    public const string Sync = "Sync";
    public const string GetUnreadCount = "GetUnreadCount";
}
