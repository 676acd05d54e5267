using Notifications.Domain;

namespace Notifications.Infrastructure.Data;

public sealed class NotificationGroup
{
    public required string Name { get; set; }

    public GroupKind Kind { get; set; }

    public DateTime CreatedAt { get; set; }

    public required string CreatedBy { get; set; }

    public List<GroupMember> Members { get; set; } = [];
}

public sealed class GroupMember
{
    public required string GroupName { get; set; }

    public required string UserId { get; set; }

    public DateTime JoinedAt { get; set; }
}
