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
/// </remarks>
public sealed class UserIndexedHubLifetimeManager<THub>(ILogger<DefaultHubLifetimeManager<THub>> logger)
    : DefaultHubLifetimeManager<THub>(logger) where THub : Hub
{
    // Copy-on-write arrays: sends read without locking; connects and disconnects of one user are rare.
    private readonly ConcurrentDictionary<string, HubConnectionContext[]> connectionsByUser = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        await base.OnConnectedAsync(connection);
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

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        connectionsByUser.TryGetValue(userId, out var connections)
            ? WriteAsync(connections, new SerializedHubMessage(new InvocationMessage(methodName, args)), cancellationToken)
            : Task.CompletedTask;

    public override async Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SerializedHubMessage? message = null;
        List<Task>? pending = null;
        foreach (var user in userIds.Distinct(StringComparer.Ordinal))
        {
            if (connectionsByUser.TryGetValue(user, out var connections))
            {
                message ??= new SerializedHubMessage(new InvocationMessage(methodName, args));
                var write = WriteAsync(connections, message, cancellationToken);
                if (!write.IsCompletedSuccessfully)
                {
                    (pending ??= []).Add(write);
                }
            }
        }

        if (pending is not null)
        {
            await Task.WhenAll(pending);
        }
    }

    private static Task WriteAsync(HubConnectionContext[] connections, SerializedHubMessage message, CancellationToken cancellationToken)
    {
        List<Task>? pending = null;
        foreach (var connection in connections)
        {
            var write = connection.WriteAsync(message, cancellationToken);
            if (!write.IsCompletedSuccessfully)
            {
                (pending ??= []).Add(write.AsTask());
            }
        }

        return pending is null ? Task.CompletedTask : Task.WhenAll(pending);
    }
}
