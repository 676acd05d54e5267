using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Groups;

/// <summary>
/// Keeps this instance's live connections in the groups the database has their user in: on every membership change
/// (from any instance) for that user and group, and for everyone when changes may have been missed.
/// </summary>
/// <remarks>
/// A change is applied as the database has it when it is applied, not as the event says: a join and a leave applied
/// out of their commit order (published by two instances, or a publish retried later) then still end in the stored
/// state, since the bus applies one change at a time and each reads the state after its own commit.
/// </remarks>
public sealed class MembershipMover(
    IClusterBus bus,
    ConnectionRegistry registry,
    IHubContext<NotificationHub, INotificationClient> hub,
    HubLifetimeManager<NotificationHub> lifetime,
    IServiceScopeFactory scopes,
    RecentJoins recentJoins,
    ILogger<MembershipMover> logger) : IHostedService
{
    private const int UsersPerRead = 500;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.Subscribe(ApplyAsync);
        bus.SubscribeResync(ResyncAsync);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task ApplyAsync(MembershipChanged change)
    {
        // Heard whether or not the user has a connection here: pushes of sends made before the join leave from here too.
        if (change.Joined)
        {
            recentJoins.Heard(change.Group);
        }

        var connections = registry.ConnectionsOf(change.UserId);
        if (connections.Count == 0)
        {
            return;
        }

        bool member;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
            member = await db.GroupMembers.AsNoTracking().AnyAsync(m => m.GroupName == change.Group && m.UserId == change.UserId);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(ex))
        {
            // The event is the best knowledge there is; the next connect reads the groups again.
            logger.LogWarning("Membership change applied as announced: the store is unavailable ({Error})", ex.GetType().Name);
            member = change.Joined;
        }

        var group = HubGroups.Group(change.Group);
        foreach (var connectionId in connections)
        {
            await MoveAsync(connectionId, group, member, CancellationToken.None);
        }
    }

    /// <summary>Moves every connection here into exactly the groups the database has its user in.</summary>
    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
        // Joins made while this instance could not hear them are unknown, and could be to any group.
        recentJoins.Heard(null);
        if (lifetime is not IConnectionGroups connectionGroups)
        {
            return;
        }

        var moves = 0;
        foreach (var users in registry.UserIds.Chunk(UsersPerRead))
        {
            var stored = await StoredGroupsAsync(users, cancellationToken);
            foreach (var user in users)
            {
                var wanted = stored.GetValueOrDefault(user) ?? [];
                foreach (var connectionId in registry.ConnectionsOf(user))
                {
                    var current = connectionGroups.GroupsOf(connectionId).Where(HubGroups.IsGroup).ToHashSet(StringComparer.Ordinal);
                    foreach (var stale in current.Except(wanted))
                    {
                        moves += await MoveAsync(connectionId, stale, member: false, cancellationToken) ? 1 : 0;
                    }

                    foreach (var missing in wanted.Except(current))
                    {
                        moves += await MoveAsync(connectionId, missing, member: true, cancellationToken) ? 1 : 0;
                    }
                }
            }
        }

        if (moves > 0)
        {
            logger.LogInformation("Group memberships resynced after the link to the other instances came back: {Moves} connection group changes", moves);
        }
    }

    // One connection's failure (it closed meanwhile, say) must not keep the user's other connections, or the other
    // users of a resync, from moving.
    private async Task<bool> MoveAsync(string connectionId, string group, bool member, CancellationToken cancellationToken)
    {
        try
        {
            if (member)
            {
                await hub.Groups.AddToGroupAsync(connectionId, group, cancellationToken);
            }
            else
            {
                await hub.Groups.RemoveFromGroupAsync(connectionId, group, cancellationToken);
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Could not move connection {ConnectionId} {Direction} a group", connectionId, member ? "into" : "out of");
            return false;
        }
    }

    private async Task<Dictionary<string, HashSet<string>>> StoredGroupsAsync(string[] users, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var rows = await db.GroupMembers.AsNoTracking()
            .Where(m => users.Contains(m.UserId))
            .Select(m => new { m.UserId, m.GroupName })
            .ToListAsync(cancellationToken);
        return rows
            .GroupBy(m => m.UserId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(m => HubGroups.Group(m.GroupName)).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
    }
}
