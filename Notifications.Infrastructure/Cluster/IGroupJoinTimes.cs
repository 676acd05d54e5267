namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// When the user of each of this instance's connections joined the stored groups the connection is in, so that a push
/// of a notification reaches through a group only the members who may see it (see
/// <see cref="IAudienceLifetimeManager.SendToAudienceAsync"/>).
/// </summary>
/// <remarks>
/// A member sees a group's notification only when they joined at or before its <c>createdAt</c>. The push leaves a
/// moment after that (the commit, the dispatcher's queue, a Redis hop; much later when an outbox entry is taken over
/// or a missed window replayed), and a member who joined meanwhile is in the group by then. The instance that writes
/// the push to the connection is the one that knows when its user joined, so the check is made there.
/// </remarks>
public interface IGroupJoinTimes
{
    /// <summary>
    /// Records when the connection's user joined <paramref name="groupName"/> (a SignalR group name), as stored with
    /// the membership; <see cref="DateTime.MinValue"/> when not known (the connection then gets every push of the group).
    /// Call it before adding the connection to the group, so that no push finds it there without its time.
    /// </summary>
    /// <param name="readUnderHold">
    /// The time was read from the store while the user's moves on this instance were held, so it is the newest: it
    /// replaces the one recorded. Otherwise it may have been read before a leave and a join again whose time is recorded
    /// since, and it replaces only an earlier one. (Times of one membership do not always grow: each join is stamped by
    /// the clock of the instance that made it.)
    /// </param>
    void JoinedAt(string connectionId, string groupName, DateTime joinedAt, bool readUnderHold);
}
