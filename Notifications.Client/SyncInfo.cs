namespace Notifications.Client;

/// <summary>A catch-up that completed (see <see cref="NotificationsClient.Synced"/>), like the JS client's <c>onSync</c> info.</summary>
/// <param name="Reconnected">
/// True for the catch-up after a reconnect (also a restart after the server closed the connection); false for the one
/// of <see cref="NotificationsClient.StartAsync"/> and for <see cref="NotificationsClient.SyncAsync"/>.
/// </param>
/// <param name="Received">How many notifications it raised by <see cref="NotificationsClient.NotificationReceived"/>
/// (ids raised before, live or by an earlier catch-up, do not count).</param>
/// <param name="Cursor"><see cref="NotificationsClient.Cursor"/> when it completed.</param>
public sealed record SyncInfo(bool Reconnected, int Received, long Cursor);
