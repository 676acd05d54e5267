using Microsoft.AspNetCore.SignalR;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;

namespace Notifications.Api.Groups;

/// <summary>
/// Puts one of this instance's connections in a stored group's SignalR group, or takes it out. In, it first records
/// when the connection's user joined, so that pushes of notifications sent before then leave it out
/// (<see cref="IGroupJoinTimes"/>).
/// </summary>
public sealed class GroupMoves(IHubContext<NotificationHub, INotificationClient> hub, HubLifetimeManager<NotificationHub> lifetime)
{
    // Both of the service's lifetime managers (AddNotificationsBackplane) keep join times.
    private readonly IGroupJoinTimes joinTimes = lifetime as IGroupJoinTimes
        ?? throw new InvalidOperationException($"{lifetime.GetType().Name} cannot tell a group's members by when they joined.");

    /// <summary>Into <paramref name="hubGroup"/> (a <see cref="HubGroups.Group"/> name), its user a member since <paramref name="joinedAt"/>.</summary>
    public Task JoinAsync(string connectionId, string hubGroup, DateTime joinedAt, CancellationToken cancellationToken)
    {
        joinTimes.JoinedAt(connectionId, hubGroup, joinedAt);
        return hub.Groups.AddToGroupAsync(connectionId, hubGroup, cancellationToken);
    }

    /// <summary>Records a join time for a group the connection is already in (its user left and joined again unheard).</summary>
    public void Rejoined(string connectionId, string hubGroup, DateTime joinedAt) => joinTimes.JoinedAt(connectionId, hubGroup, joinedAt);

    public Task LeaveAsync(string connectionId, string hubGroup, CancellationToken cancellationToken) =>
        hub.Groups.RemoveFromGroupAsync(connectionId, hubGroup, cancellationToken);
}
