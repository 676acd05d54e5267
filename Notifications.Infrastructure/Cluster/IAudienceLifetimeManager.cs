namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// Writes one message to every connection in any part of an audience (users, groups), once per connection.
/// </summary>
/// <remarks>
/// SignalR's <c>Clients.Users</c> and <c>Clients.Groups</c> write to each of their targets by itself: a connection whose
/// user is listed and that is also in a listed group, or that is in two listed groups, would get the message once per
/// part, where the service promises a push at most once.
/// </remarks>
public interface IAudienceLifetimeManager
{
    /// <summary>
    /// Writes the message once to every connection, on every instance, whose user is listed or that is in a listed
    /// group. With <paramref name="groupsJoinedBy"/> (a notification's <c>createdAt</c>), a connection reached through
    /// groups only gets it when its user joined one of them at or before that time (<see cref="IGroupJoinTimes"/>).
    /// </summary>
    Task SendToAudienceAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args, CancellationToken cancellationToken = default);
}
