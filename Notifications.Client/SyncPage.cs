namespace Notifications.Client;

/// <summary>One page of the hub's <c>Sync(afterId, limit)</c> catch-up: oldest first.</summary>
/// <param name="Cursor">What to pass as <c>afterId</c> for the next page (the given <c>afterId</c> on an empty page).</param>
public sealed record SyncPage(IReadOnlyList<NotificationMessage> Items, bool HasMore, long Cursor);
