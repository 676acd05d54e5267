using Notifications.Domain;

namespace Notifications.Infrastructure.Data;

/// <summary>A sent notification, stored once whatever the size of its audience.</summary>
public sealed class Notification
{
    public long Id { get; set; }

    public required string Type { get; set; }

    public required string Title { get; set; }

    public string? Body { get; set; }

    /// <summary>The caller's JSON object, stored as text.</summary>
    public string? Data { get; set; }

    public Priority Priority { get; set; } = Priority.Normal;

    public required string SenderId { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? ExpiresAt { get; set; }

    public DateTime? RetractedAt { get; set; }

    public bool Everyone { get; set; }

    /// <summary>Scoped to the sender; cleared when the idempotency window has passed.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>A hash of the request, to tell a replay from a different payload under the same key.</summary>
    public string? RequestHash { get; set; }

    public List<NotificationAudience> Audience { get; set; } = [];
}
