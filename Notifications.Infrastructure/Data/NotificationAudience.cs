namespace Notifications.Infrastructure.Data;

public enum AudienceKind : byte
{
    User = 0,
    Role = 1,
    Group = 2,
}

/// <summary>One named user, role or group of a notification's audience ("everyone" is a flag on the notification).</summary>
public sealed class NotificationAudience
{
    public long NotificationId { get; set; }

    public AudienceKind Kind { get; set; }

    public required string Value { get; set; }
}
