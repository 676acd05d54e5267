using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Groups;

/// <summary>
/// Keeps this instance's live connections in the groups the database has their user in, with when the user joined
/// each: on every membership change (from any instance) for that user and group, and for everyone when changes may
/// have been missed.
/// </summary>
/// <remarks>
/// A change is applied as the database has it when it is applied, not as the event says: a join and a leave applied
/// out of their commit order (published by two instances, or a publish retried later) then still end in the stored
/// state, since the bus applies one change at a time and each reads the state after its own commit.
/// </remarks>
public sealed class MembershipMover(
    IClusterBus bus,
    ConnectionRegistry registry,
    GroupMoves groupMoves,
    HubLifetimeManager<NotificationHub> lifetime,
    IServiceScopeFactory scopes,
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
        var connections = registry.ConnectionsOf(change.UserId);
        if (connections.Count == 0)
        {
            return;
        }

        // A connect of the user here, which reads the user's groups too, waits meanwhile (and this for it).
        using var hold = await groupMoves.HoldUserAsync(change.UserId, CancellationToken.None);

        // When the user joined, null when not a member.
        bool member;
        DateTime? joinedAt;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
            joinedAt = await db.GroupMembers.AsNoTracking()
                .Where(m => m.GroupName == change.Group && m.UserId == change.UserId)
                .Select(m => (DateTime?)m.JoinedAt)
                .FirstOrDefaultAsync();
            member = joinedAt is not null;
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(ex))
        {
            // The event is the best knowledge there is; the next connect reads the groups again.
            logger.LogWarning("Membership change applied as announced: the store is unavailable ({Error})", ex.GetType().Name);
            member = change.Joined;
            joinedAt = change.JoinedAt;
        }

        var group = HubGroups.Group(change.Group);
        foreach (var connectionId in connections)
        {
            await MoveAsync(connectionId, group, member, joinedAt, readUnderHold: true, CancellationToken.None);
        }
    }

    /// <summary>Moves every connection here into exactly the groups the database has its user in.</summary>
    private async Task ResyncAsync(CancellationToken cancellationToken)
    {
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
                var wanted = stored.GetValueOrDefault(user) ?? new Dictionary<string, DateTime>(StringComparer.Ordinal);
                using var hold = await groupMoves.HoldUserAsync(user, cancellationToken);
                foreach (var connectionId in registry.ConnectionsOf(user))
                {
                    var current = connectionGroups.GroupsOf(connectionId).Where(HubGroups.IsGroup).ToHashSet(StringComparer.Ordinal);
                    foreach (var stale in current.Where(group => !wanted.ContainsKey(group)))
                    {
                        moves += await MoveAsync(connectionId, stale, member: false, joinedAt: null, readUnderHold: false, cancellationToken) ? 1 : 0;
                    }

                    foreach (var (group, joinedAt) in wanted)
                    {
                        if (current.Contains(group))
                        {
                            // Its user may have left and joined again unheard. (Read for many users at once, before the hold.)
                            groupMoves.Rejoined(connectionId, group, joinedAt, readUnderHold: false);
                            continue;
                        }

                        moves += await MoveAsync(connectionId, group, member: true, joinedAt, readUnderHold: false, cancellationToken) ? 1 : 0;
                    }
                }
            }
        }

        if (moves > 0)
        {
            logger.LogInformation("Group memberships resynced from the store (after a lost link to the other instances, or before a replay of missed pushes): {Moves} connection group changes", moves);
        }
    }

    // One connection's failure (it closed meanwhile, say) must not keep the user's other connections, or the other
    // users of a resync, from moving.
    private async Task<bool> MoveAsync(string connectionId, string group, bool member, DateTime? joinedAt, bool readUnderHold, CancellationToken cancellationToken)
    {
        try
        {
            if (member)
            {
                // Unknown only when the store is down and the event came from an earlier version: the connection then
                // gets the group's pushes as they come, as it did before join times were kept.
                await groupMoves.JoinAsync(connectionId, group, joinedAt ?? DateTime.MinValue, readUnderHold, cancellationToken);
            }
            else
            {
                await groupMoves.LeaveAsync(connectionId, group, cancellationToken);
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.LogWarning(ex, "Could not move connection {ConnectionId} {Direction} a group", connectionId, member ? "into" : "out of");
            return false;
        }
    }

    /// <summary>Per user, the SignalR names of their groups and when they joined each.</summary>
    private async Task<Dictionary<string, Dictionary<string, DateTime>>> StoredGroupsAsync(string[] users, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var rows = await db.GroupMembers.AsNoTracking()
            .Where(m => users.Contains(m.UserId))
            .Select(m => new { m.UserId, m.GroupName, m.JoinedAt })
            .ToListAsync(cancellationToken);
        return rows
            .GroupBy(m => m.UserId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToDictionary(m => HubGroups.Group(m.GroupName), m => m.JoinedAt, StringComparer.Ordinal), StringComparer.Ordinal);
    }
}
