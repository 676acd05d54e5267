using Microsoft.EntityFrameworkCore;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>
/// Where a group push goes when members may have joined since its send. A group's push reaches whoever is in the group
/// when it is written, and members see only what was sent since they joined: a fresh push is written a moment after
/// its send (the commit, the dispatcher's queue); a push written late, maybe long after (an outbox entry taken over
/// after its instance died or the store was down, or a replay of what connections missed while Redis was down), may
/// find many such members.
/// </summary>
public static class LatePushTargets
{
    // A group push with late joiners is sent to its members by name up to this many.
    private const int MaxListedMembers = 10_000;

    /// <summary>
    /// For a push written late: <paramref name="targets"/> as they are when no one joined the groups after the send;
    /// otherwise the members of the send's time, listed by user, instead of the groups. Too many to list, and the groups'
    /// part is left to their next Sync.
    /// </summary>
    public static Task<PushTargets> WithoutLateJoinersAsync(
        NotificationsDbContext db, Notification notification, PushTargets targets, ILogger logger, CancellationToken cancellationToken) =>
        WithoutLateJoinersAsync(db, notification.Id, notification.CreatedAt, targets, fresh: false, logger, cancellationToken);

    /// <summary>
    /// For a fresh push: as <see cref="WithoutLateJoinersAsync(NotificationsDbContext, Notification, PushTargets, ILogger, CancellationToken)"/>,
    /// but too many members to list and the push goes to the groups as they are: holding back thousands of members'
    /// push for the few who joined within that moment would cost more than it saves.
    /// </summary>
    public static Task<PushTargets> ForFreshPushAsync(
        NotificationsDbContext db, long notificationId, DateTime createdAt, PushTargets targets, ILogger logger, CancellationToken cancellationToken) =>
        WithoutLateJoinersAsync(db, notificationId, createdAt, targets, fresh: true, logger, cancellationToken);

    private static async Task<PushTargets> WithoutLateJoinersAsync(
        NotificationsDbContext db, long notificationId, DateTime createdAt, PushTargets targets, bool fresh, ILogger logger, CancellationToken cancellationToken)
    {
        var groups = targets.Groups;
        if (groups.Length == 0 || !await db.GroupMembers.AnyAsync(m => groups.Contains(m.GroupName) && m.JoinedAt > createdAt, cancellationToken))
        {
            return targets;
        }

        var members = await db.GroupMembers.AsNoTracking()
            .Where(m => groups.Contains(m.GroupName) && m.JoinedAt <= createdAt)
            .Select(m => m.UserId)
            .Distinct()
            .Take(MaxListedMembers + 1)
            .ToListAsync(cancellationToken);
        if (members.Count > MaxListedMembers)
        {
            if (fresh)
            {
                logger.LogInformation(
                    "Notification {NotificationId} is pushed to its groups as they are, members who joined since its send included: too many members to list",
                    notificationId);
                return targets;
            }

            logger.LogWarning(
                "Notification {NotificationId} was pushed late, after members joined its groups; its groups' members get it at their next Sync, not live",
                notificationId);
            members = [];
        }

        return targets with { Users = [.. targets.Users.Union(members, StringComparer.Ordinal)], Groups = [] };
    }
}
