namespace Notifications.Infrastructure.Data;

/// <summary>
/// Read-all: every notification with an id up to <see cref="UpToId"/> counts as read. The user's latest
/// <see cref="ReadAllStep"/>, kept apart as one row per user because the unread count and the unread filters need only
/// the highest id, and because raising it is what serializes one user's read-alls (the row's lock), so steps are
/// added in order.
/// </summary>
public sealed class ReadWatermark
{
    public required string UserId { get; set; }

    public long UpToId { get; set; }

    /// <summary>When the step at <see cref="UpToId"/> was taken; the steps' own times say when each id was first read.</summary>
    public DateTime ReadAt { get; set; }
}
