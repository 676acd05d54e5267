using System.Text.Json;

namespace Notifications.Client;

/// <summary>A notification as its recipient sees it (contract v1, camelCase on the wire).</summary>
/// <remarks><see cref="Data"/> is kept as raw JSON because its shape belongs to each notification type.</remarks>
public sealed record NotificationMessage(
    long Id,
    string Type,
    string Title,
    string? Body,
    JsonElement? Data,
    string Priority,
    string SenderId,
    DateTimeOffset CreatedAt,
    DateTimeOffset? ExpiresAt,
    DateTimeOffset? ReadAt,
    DateTimeOffset? SeenAt,
    DateTimeOffset? ArchivedAt);
