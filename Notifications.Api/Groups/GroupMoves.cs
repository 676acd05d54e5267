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

    // Per user with moves under way: the gate and how many hold or wait for it (the entry goes with the last).
    private readonly Dictionary<string, (SemaphoreSlim Gate, int Holders)> users = new(StringComparer.Ordinal);

    /// <summary>Users whose moves are held or waited for (for tests: entries go with their last holder).</summary>
    internal int UsersHeld
    {
        get
        {
            lock (users)
            {
                return users.Count;
            }
        }
    }

    /// <summary>
    /// Holds the user's group moves on this instance until disposed. The hub's connect and the membership mover each
    /// read the user's stored groups and then move connections by what they read; interleaved, a move made from an
    /// older read could undo a newer one (a connect's check for groups left meanwhile taking a connection out of a
    /// group the mover had just put it back in).
    /// </summary>
    public async Task<IDisposable> HoldUserAsync(string userId, CancellationToken cancellationToken)
    {
        SemaphoreSlim gate;
        lock (users)
        {
            var (existing, holders) = users.TryGetValue(userId, out var entry) ? entry : (new SemaphoreSlim(1, 1), 0);
            users[userId] = (existing, holders + 1);
            gate = existing;
        }

        try
        {
            await gate.WaitAsync(cancellationToken);
        }
        catch
        {
            Leave(userId);
            throw;
        }

        return new UserHold(this, userId, gate);
    }

    private void Leave(string userId)
    {
        lock (users)
        {
            var (gate, holders) = users[userId];
            if (holders == 1)
            {
                users.Remove(userId);
                gate.Dispose();
            }
            else
            {
                users[userId] = (gate, holders - 1);
            }
        }
    }

    /// <summary>
    /// Into <paramref name="hubGroup"/> (a <see cref="HubGroups.Group"/> name), its user a member since
    /// <paramref name="joinedAt"/> (see <see cref="IGroupJoinTimes.JoinedAt"/> for <paramref name="readUnderHold"/>).
    /// </summary>
    public Task JoinAsync(string connectionId, string hubGroup, DateTime joinedAt, bool readUnderHold, CancellationToken cancellationToken)
    {
        joinTimes.JoinedAt(connectionId, hubGroup, joinedAt, readUnderHold);
        return hub.Groups.AddToGroupAsync(connectionId, hubGroup, cancellationToken);
    }

    /// <summary>Records a join time for a group the connection is already in (its user left and joined again unheard).</summary>
    public void Rejoined(string connectionId, string hubGroup, DateTime joinedAt, bool readUnderHold) =>
        joinTimes.JoinedAt(connectionId, hubGroup, joinedAt, readUnderHold);

    public Task LeaveAsync(string connectionId, string hubGroup, CancellationToken cancellationToken) =>
        hub.Groups.RemoveFromGroupAsync(connectionId, hubGroup, cancellationToken);

    private sealed class UserHold(GroupMoves moves, string userId, SemaphoreSlim gate) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                gate.Release();
                moves.Leave(userId);
            }
        }
    }
}
