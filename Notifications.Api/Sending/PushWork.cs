using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>Where a notification's pushes go: SignalR users, role groups, named groups, or all connections.</summary>
public sealed record PushTargets(bool Everyone, string[] Users, string[] Roles, string[] Groups)
{
    public static PushTargets Of(Notification notification) => new(
        notification.Everyone,
        ValuesOf(notification.Audience, AudienceKind.User),
        ValuesOf(notification.Audience, AudienceKind.Role),
        ValuesOf(notification.Audience, AudienceKind.Group));

    /// <summary>The SignalR groups of the roles and groups (see <see cref="HubGroups"/>).</summary>
    public string[] HubGroupNames() => [.. Roles.Select(HubGroups.Role), .. Groups.Select(HubGroups.Group)];

    // Built for every push: plain loops, no LINQ iterators.
    private static string[] ValuesOf(List<NotificationAudience> audience, AudienceKind kind)
    {
        var count = 0;
        foreach (var member in audience)
        {
            count += member.Kind == kind ? 1 : 0;
        }

        if (count == 0)
        {
            return [];
        }

        var values = new string[count];
        var next = 0;
        foreach (var member in audience)
        {
            if (member.Kind == kind)
            {
                values[next++] = member.Value;
            }
        }

        return values;
    }
}

/// <summary>One committed outbox entry, ready to push.</summary>
public sealed record PushWork(long OutboxId, OutboxKind Kind, NotificationDto Notification, PushTargets Targets)
{
    /// <summary>
    /// For a send to groups, its <c>createdAt</c>: members who joined after it may not see it, and the instance writing
    /// to their connections, which knows when each joined, leaves them out however late the push. A retraction goes to
    /// every member: one who got the push and has since left and joined again must still be told (it names an id only).
    /// </summary>
    public DateTime? GroupsJoinedBy => Kind == OutboxKind.Send && Targets.Groups.Length > 0 ? Notification.CreatedAt : null;
}
