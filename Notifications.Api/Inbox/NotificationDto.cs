using System.Text.Json;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>A notification as its recipient sees it (REST and hub alike).</summary>
public sealed record NotificationDto(
    long Id,
    string Type,
    string Title,
    string? Body,
    JsonElement? Data,
    string Priority,
    string SenderId,
    DateTime CreatedAt,
    DateTime? ExpiresAt,
    DateTime? ReadAt,
    DateTime? SeenAt,
    DateTime? ArchivedAt)
{
    public static NotificationDto From(Notification n, ReadState state = default) =>
        new(n.Id, n.Type, n.Title, n.Body, ParseData(n.Data), n.Priority.ToName(), n.SenderId, n.CreatedAt, n.ExpiresAt, state.ReadAt, state.SeenAt, state.ArchivedAt);

    internal static JsonElement? ParseData(string? data) => StoredData.Parse(data);
}

public sealed record InboxPage(IReadOnlyList<NotificationDto> Items, bool HasMore, long? NextBefore);

public sealed record SyncPage(IReadOnlyList<NotificationDto> Items, bool HasMore, long Cursor);

public sealed record UnreadCount(int Count);

public sealed record AllReadPayload(long UpToId);
