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
    Task SendToAudienceAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default);
}
