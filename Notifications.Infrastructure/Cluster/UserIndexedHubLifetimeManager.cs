using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// The single-instance lifetime manager, with the user's connections found by lookup.
/// </summary>
/// <remarks>
/// <see cref="DefaultHubLifetimeManager{THub}"/> finds a user's connections (and a list of connection ids) by testing
/// every connection of the process, so each targeted send costs O(connections): at 1,000 connections that scan was the
/// largest single item in a profile of targeted sends. Here each user's connections are kept in an index, and a send
/// to users writes to just those, the message serialized once per protocol as SignalR does for a broadcast.
/// Each group's members are kept too, so that a send to an audience of several parts reaches each connection once
/// (see <see cref="IAudienceLifetimeManager"/>). Every push the service makes (to everyone, a group, users, an
/// audience) is written through <see cref="PushWriter"/>, so that a client that stops reading holds up no other.
/// </remarks>
public sealed class UserIndexedHubLifetimeManager<THub>(ILogger<DefaultHubLifetimeManager<THub>> logger, PushWriter writer)
    : DefaultHubLifetimeManager<THub>(logger), IAudienceLifetimeManager, IGroupJoinTimes where THub : Hub
{
    // Copy-on-write arrays: sends read without locking; connects and disconnects of one user are rare.
    private readonly ConcurrentDictionary<string, HubConnectionContext[]> connectionsByUser = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    // DefaultHubLifetimeManager keeps its own connections and groups out of reach; these mirror them.
    private readonly ConcurrentDictionary<string, HubConnectionContext> connectionsById = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, HubConnectionContext>> membersByGroup = new(StringComparer.Ordinal);

    // Per connection: when its user joined each stored group (IGroupJoinTimes).
    private readonly ConcurrentDictionary<string, ConnectionJoinTimes> joinTimesByConnection = new(StringComparer.Ordinal);

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection);
        connectionsById[connection.ConnectionId] = connection;
        if (connection.UserIdentifier is { } user)
        {
            lock (gate)
            {
                connectionsByUser[user] = connectionsByUser.TryGetValue(user, out var existing) ? [.. existing, connection] : [connection];
            }
        }
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        connectionsById.TryRemove(connection.ConnectionId, out _);
        joinTimesByConnection.TryRemove(connection.ConnectionId, out _);

        // Every group is looked at, as DefaultHubLifetimeManager does (a connection does not list its groups);
        // enumerating the dictionary, unlike its Values, takes no lock.
        foreach (var (_, members) in membersByGroup)
        {
            members.TryRemove(connection.ConnectionId, out _);
        }

        if (connection.UserIdentifier is { } user)
        {
            lock (gate)
            {
                if (connectionsByUser.TryGetValue(user, out var existing))
                {
                    var remaining = Array.FindAll(existing, c => !ReferenceEquals(c, connection));
                    if (remaining.Length == 0)
                    {
                        connectionsByUser.TryRemove(user, out _);
                    }
                    else
                    {
                        connectionsByUser[user] = remaining;
                    }
                }
            }
        }

        return base.OnDisconnectedAsync(connection);
    }

    public override async Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        await base.AddToGroupAsync(connectionId, groupName, cancellationToken);
        if (connectionsById.TryGetValue(connectionId, out var connection))
        {
            var members = membersByGroup.GetOrAdd(groupName, static _ => new(StringComparer.Ordinal));
            members[connectionId] = connection;

            // It may have disconnected meanwhile, after its disconnect looked at this group.
            if (!connectionsById.ContainsKey(connectionId))
            {
                members.TryRemove(connectionId, out _);
            }
        }
    }

    public override async Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        await base.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
        if (membersByGroup.TryGetValue(groupName, out var members))
        {
            members.TryRemove(connectionId, out _);
        }
    }

    public void JoinedAt(string connectionId, string groupName, DateTime joinedAt, bool readUnderHold)
    {
        if (!connectionsById.ContainsKey(connectionId))
        {
            return;
        }

        joinTimesByConnection.GetOrAdd(connectionId, static _ => new()).Record(groupName, joinedAt, readUnderHold);

        // It may have disconnected meanwhile, after its disconnect dropped its times.
        if (!connectionsById.ContainsKey(connectionId))
        {
            joinTimesByConnection.TryRemove(connectionId, out _);
        }
    }

    public Task SendToAudienceAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var targets = new HashSet<HubConnectionContext>(ReferenceEqualityComparer.Instance);
        foreach (var user in userIds)
        {
            if (connectionsByUser.TryGetValue(user, out var connections))
            {
                targets.UnionWith(connections);
            }
        }

        foreach (var group in groupNames)
        {
            if (membersByGroup.TryGetValue(group, out var members))
            {
                foreach (var (connectionId, member) in members)
                {
                    if (groupsJoinedBy is not { } limit || JoinedBy(connectionId, group, limit.Ticks))
                    {
                        targets.Add(member);
                    }
                }
            }
        }

        return targets.Count == 0 ? Task.CompletedTask : writer.WriteAsync(targets, Serialized(methodName, args));
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        connectionsById.IsEmpty ? Task.CompletedTask : writer.WriteAsync(connectionsById.Select(static pair => pair.Value), Serialized(methodName, args));

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        membersByGroup.TryGetValue(groupName, out var members) && !members.IsEmpty
            ? writer.WriteAsync(members.Select(static pair => pair.Value), Serialized(methodName, args))
            : Task.CompletedTask;

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        connectionsByUser.TryGetValue(userId, out var connections)
            ? writer.WriteAsync(connections, Serialized(methodName, args))
            : Task.CompletedTask;

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var targets = new List<HubConnectionContext>();
        foreach (var user in userIds.Distinct(StringComparer.Ordinal))
        {
            if (connectionsByUser.TryGetValue(user, out var connections))
            {
                targets.AddRange(connections);
            }
        }

        return targets.Count == 0 ? Task.CompletedTask : writer.WriteAsync(targets, Serialized(methodName, args));
    }

    /// <summary>The unread counts of a user's connections go this way; a frozen tab of the user must not hold up the others.</summary>
    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var targets = new List<HubConnectionContext>(connectionIds.Count);
        foreach (var id in connectionIds)
        {
            if (connectionsById.TryGetValue(id, out var connection))
            {
                targets.Add(connection);
            }
        }

        return targets.Count == 0 ? Task.CompletedTask : writer.WriteAsync(targets, Serialized(methodName, args));
    }

    /// <summary>The connection's user joined <paramref name="group"/> at or before <paramref name="limitTicks"/>, or when is not known.</summary>
    private bool JoinedBy(string connectionId, string group, long limitTicks) =>
        !joinTimesByConnection.TryGetValue(connectionId, out var times) || times.JoinedBy(group, limitTicks);

    private static SerializedHubMessage Serialized(string methodName, object?[] args) => new(new InvocationMessage(methodName, args));
}
