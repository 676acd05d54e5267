namespace Notifications.Client;

/// <summary>Connection state as the SDK presents it.</summary>
/// <remarks>
/// Our own enum rather than SignalR's <c>HubConnectionState</c>: when the server closes the connection
/// (e.g. expired token) SignalR reports Disconnected, but the SDK is still trying to get back, so it reports
/// <see cref="Reconnecting"/> until <c>StopAsync</c>/<c>DisposeAsync</c>.
/// </remarks>
public enum NotificationsConnectionState
{
    Disconnected = 0,
    Connecting = 1,
    Connected = 2,
    Reconnecting = 3,
}
