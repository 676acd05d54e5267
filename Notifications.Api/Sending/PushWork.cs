using Notifications.Api.Inbox;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>Where a notification's pushes go: SignalR users, role groups, named groups, or all connections.</summary>
public sealed record PushTargets(bool Everyone, string[] Users, string[] Roles, string[] Groups)
{
    public static PushTargets Of(Notification notification) => new(
        notification.Everyone,
        [.. notification.Audience.Where(a => a.Kind == AudienceKind.User).Select(a => a.Value)],
        [.. notification.Audience.Where(a => a.Kind == AudienceKind.Role).Select(a => a.Value)],
        [.. notification.Audience.Where(a => a.Kind == AudienceKind.Group).Select(a => a.Value)]);
}

/// <summary>One committed outbox entry, ready to push.</summary>
public sealed record PushWork(long OutboxId, OutboxKind Kind, NotificationDto Notification, PushTargets Targets);
