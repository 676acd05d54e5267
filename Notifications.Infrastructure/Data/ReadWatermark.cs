namespace Notifications.Infrastructure.Data;

/// <summary>Read-all: every notification with an id up to <see cref="UpToId"/> counts as read.</summary>
public sealed class ReadWatermark
{
    public required string UserId { get; set; }

    public long UpToId { get; set; }

    public DateTime ReadAt { get; set; }
}
