using Microsoft.AspNetCore.SignalR;
using Notifications.Api.Hubs;
using Notifications.Domain;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>
/// Pushes <c>UnreadCountChanged</c> to this instance's connections of a user whose read state changed (on any instance),
/// each connection the count its own token's roles see.
/// </summary>
/// <remarks>
/// <para>
/// A user's tabs may hold tokens with different roles (an old token, and a new one that gained a role), so one count
/// for all of them would be wrong for some. Roles live only in each connection's validated token, which only the
/// instance holding the connection has: so the read-state change travels to every instance (<see cref="IClusterBus"/>),
/// and each counts for its own connections of the user, one query per distinct role set (almost always one).
/// </para>
/// <para>
/// One user's counts run one after another, in the order the changes arrived, each read after its change committed:
/// so the last count a connection gets is never older than the last change, as concurrent counts finishing out of
/// order could make it. The instance where the change was made awaits its own connections' count, so a caller's
/// tabs here have it when the call returns, as before.
/// </para>
/// </remarks>
public sealed class UnreadCountPusher(
    IClusterBus bus,
    ConnectionRegistry registry,
    IHubContext<NotificationHub, INotificationClient> hub,
    IServiceScopeFactory scopes,
    ILogger<UnreadCountPusher> logger) : IHostedService
{
    // The last count queued per user; entries leave when their count is done and nothing was queued after it.
    private readonly Dictionary<string, Task> tails = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private readonly CancellationTokenSource stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.SubscribeReadState(change => Enqueue(change.UserId));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await stopping.CancelAsync();

    /// <summary>Queues a count for the user's connections here; completes when it was pushed (or could not be).</summary>
    private Task Enqueue(string userId)
    {
        // Users with no connection here, on most instances most of the time, cost a lookup.
        if (registry.ConnectionsWithRolesOf(userId).Count == 0)
        {
            return Task.CompletedTask;
        }

        Task next;
        lock (gate)
        {
            next = AfterAsync(tails.GetValueOrDefault(userId), userId);
            tails[userId] = next;
        }

        _ = next.ContinueWith(
            done =>
            {
                lock (gate)
                {
                    if (tails.TryGetValue(userId, out var tail) && tail == done)
                    {
                        tails.Remove(userId);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return next;
    }

    private async Task AfterAsync(Task? previous, string userId)
    {
        // Off the caller's lock first: SQLite's queries run synchronously, and would run under it.
        await Task.Yield();
        if (previous is not null)
        {
            // Never faults: each count catches its own failures.
            await previous;
        }

        try
        {
            await PushAsync(userId, stopping.Token);
        }
        catch (Exception ex)
        {
            // The read itself is stored; clients take GetUnreadCount as the authority on (re)connect. Stopping is quiet.
            if (!stopping.IsCancellationRequested)
            {
                logger.LogWarning("Could not push the unread count to a user's connections ({Error})", ex.GetType().Name);
            }
        }
    }

    private async Task PushAsync(string userId, CancellationToken cancellationToken)
    {
        var connections = registry.ConnectionsWithRolesOf(userId);
        if (connections.Count == 0)
        {
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var inbox = scope.ServiceProvider.GetRequiredService<InboxQueries>();
        foreach (var sameRoles in connections.GroupBy(c => c.Roles))
        {
            var viewer = new Viewer(userId, sameRoles.Key.Roles.ToHashSet(StringComparer.Ordinal));
            int count;
            try
            {
                count = await inbox.UnreadCountAsync(viewer, cancellationToken);
            }
            catch (Exception ex) when (StoreFailures.IsUnavailable(ex))
            {
                logger.LogWarning("Unread count not pushed: the store is unavailable ({Error})", ex.GetType().Name);
                return;
            }

            await hub.Clients.Clients([.. sameRoles.Select(c => c.ConnectionId)]).UnreadCountChanged(count);
        }
    }
}
