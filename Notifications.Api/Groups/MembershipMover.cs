using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Groups;

/// <summary>
/// Applies membership changes (from any instance) to this instance's live connections of that user, and brings them
/// back in step with the database when changes may have been missed.
/// </summary>
public sealed class MembershipMover(
    IClusterBus bus,
    ConnectionRegistry registry,
    IHubContext<NotificationHub, INotificationClient> hub,
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
        var group = HubGroups.Group(change.Group);
        foreach (var connectionId in registry.ConnectionsOf(change.UserId))
        {
            if (change.Joined)
            {
                await hub.Groups.AddToGroupAsync(connectionId, group);
            }
            else
            {
                await hub.Groups.RemoveFromGroupAsync(connectionId, group);
            }
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
                var wanted = stored.GetValueOrDefault(user) ?? [];
                foreach (var connectionId in registry.ConnectionsOf(user))
                {
                    var current = connectionGroups.GroupsOf(connectionId).Where(HubGroups.IsGroup).ToHashSet(StringComparer.Ordinal);
                    foreach (var stale in current.Except(wanted))
                    {
                        await hub.Groups.RemoveFromGroupAsync(connectionId, stale, cancellationToken);
                        moves++;
                    }

                    foreach (var missing in wanted.Except(current))
                    {
                        await hub.Groups.AddToGroupAsync(connectionId, missing, cancellationToken);
                        moves++;
                    }
                }
            }
        }

        if (moves > 0)
        {
            logger.LogInformation("Group memberships resynced after the link to the other instances came back: {Moves} connection group changes", moves);
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
