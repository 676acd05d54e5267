namespace Notifications.Infrastructure.Data;

/// <summary>
/// One step of a user's read-all history (see <c>ReadAllHistory</c> in the domain): written with the
/// <see cref="ReadWatermark"/> each time a read-all raises it, and never changed, so a later read-all does not move
/// when the notifications this one covered were read.
/// </summary>
public sealed class ReadAllStep
{
    public required string UserId { get; set; }

    public long UpToId { get; set; }

    public DateTime ReadAt { get; set; }
}
