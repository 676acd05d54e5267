namespace Notifications.Infrastructure.Data;

public enum OutboxKind : byte
{
    Send = 0,
    Retract = 1,
}

/// <summary>
/// A push that is owed to clients. Written in the same transaction as the change it announces and deleted
/// once pushed; a lease lets another instance take over what a dead one committed but never pushed.
/// </summary>
public sealed class OutboxEntry
{
    public const int LeasedByMaxLength = 64;

    public long Id { get; set; }

    public long NotificationId { get; set; }

    public OutboxKind Kind { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime LeaseUntil { get; set; }

    public string? LeasedBy { get; set; }
}
