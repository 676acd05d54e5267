using Microsoft.AspNetCore.SignalR;

namespace Notifications.Infrastructure.Cluster;

/// <summary>Where the Redis backplane stands with one of this instance's connections.</summary>
internal enum BackplaneState
{
    /// <summary>The Redis manager does not know the connection (it connected while Redis was down, or was taken out to repair).</summary>
    Detached,

    /// <summary>The Redis manager knows it; every group in <see cref="LocalConnection.AppliedGroups"/> was applied without error.</summary>
    Attached,

    /// <summary>A Redis call about it failed half-way: the Redis manager's state for it (and its channels) is unknown.</summary>
    Suspect,
}

/// <summary>
/// One connection of this instance, as the fallback manager tracks it: the groups it should be in (what local
/// delivery uses) and the groups the Redis manager has for it (what Redis delivery reaches).
/// </summary>
internal sealed class LocalConnection(HubConnectionContext context)
{
    private readonly Lock sync = new();
    private readonly HashSet<string> desiredGroups = new(StringComparer.Ordinal);
    private readonly HashSet<string> appliedGroups = new(StringComparer.Ordinal);

    // UTC ticks: when the user joined each stored group (IGroupJoinTimes); kept when the connection leaves a group, as a
    // join back records its own time before the connection is added again. Copied on write, so that every group push
    // reads it without the lock (joins are rare).
    private Dictionary<string, long>? joinedAt;
    private BackplaneState state = BackplaneState.Detached;
    private bool closed;

    public HubConnectionContext Context { get; } = context;

    public string Id => Context.ConnectionId;

    public string? UserId => Context.UserIdentifier;

    /// <summary>Serialises the Redis manager's calls about this connection (hub, membership mover and repair run concurrently).</summary>
    public SemaphoreSlim Gate { get; } = new(1, 1);

    public BackplaneState State
    {
        get
        {
            lock (sync)
            {
                return state;
            }
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (sync)
            {
                return closed;
            }
        }
    }

    /// <summary>The groups it should be in: what local delivery uses, and what Redis delivery is brought to.</summary>
    public IReadOnlyCollection<string> DesiredGroups
    {
        get
        {
            lock (sync)
            {
                return [.. desiredGroups];
            }
        }
    }

    public IReadOnlyCollection<string> AppliedGroups
    {
        get
        {
            lock (sync)
            {
                return [.. appliedGroups];
            }
        }
    }

    /// <summary>In sync with the Redis manager: nothing for the repair to do.</summary>
    public bool IsSettled
    {
        get
        {
            lock (sync)
            {
                return state == BackplaneState.Attached && appliedGroups.SetEquals(desiredGroups);
            }
        }
    }

    public void Close()
    {
        lock (sync)
        {
            closed = true;
        }
    }

    public void Want(string group, bool member)
    {
        lock (sync)
        {
            _ = member ? desiredGroups.Add(group) : desiredGroups.Remove(group);
        }
    }

    /// <summary>As <see cref="IGroupJoinTimes.JoinedAt"/> has it; <see cref="DateTime.MinValue"/> forgets the time.</summary>
    public void JoinedAt(string group, DateTime time, bool readUnderHold)
    {
        lock (sync)
        {
            var known = joinedAt is not null && joinedAt.TryGetValue(group, out var ticks) ? ticks : (long?)null;
            if (time == DateTime.MinValue ? known is null : known == time.Ticks || (!readUnderHold && known > time.Ticks))
            {
                return;
            }

            var next = joinedAt is null ? new Dictionary<string, long>(StringComparer.Ordinal) : new Dictionary<string, long>(joinedAt, StringComparer.Ordinal);
            if (time == DateTime.MinValue)
            {
                next.Remove(group);
            }
            else
            {
                next[group] = time.Ticks;
            }

            Volatile.Write(ref joinedAt, next);
        }
    }

    /// <summary>Its user joined <paramref name="group"/> at or before <paramref name="limitTicks"/>, or when is not known.</summary>
    public bool JoinedBy(string group, long limitTicks)
    {
        var times = Volatile.Read(ref joinedAt);
        return times is null || !times.TryGetValue(group, out var ticks) || ticks <= limitTicks;
    }

    public void Applied(string group, bool member)
    {
        lock (sync)
        {
            _ = member ? appliedGroups.Add(group) : appliedGroups.Remove(group);
        }
    }

    public void Attached()
    {
        lock (sync)
        {
            state = BackplaneState.Attached;
            appliedGroups.Clear();
        }
    }

    public void Detached()
    {
        lock (sync)
        {
            state = BackplaneState.Detached;
            appliedGroups.Clear();
        }
    }

    public void Suspect()
    {
        lock (sync)
        {
            state = BackplaneState.Suspect;
        }
    }

    public (string[] Leave, string[] Join) GroupChanges()
    {
        lock (sync)
        {
            return ([.. appliedGroups.Except(desiredGroups)], [.. desiredGroups.Except(appliedGroups)]);
        }
    }

    public bool WantsAny(IReadOnlyCollection<string> groups)
    {
        lock (sync)
        {
            return groups.Any(desiredGroups.Contains);
        }
    }

    /// <summary>A Redis publish to any of these groups reaches this connection.</summary>
    public bool ReachedThroughAny(IReadOnlyCollection<string> groups)
    {
        lock (sync)
        {
            return state == BackplaneState.Attached && groups.Any(appliedGroups.Contains);
        }
    }

    /// <summary>A Redis publish to all connections, or to its user, reaches this connection.</summary>
    public bool ReachedThroughBackplane
    {
        get
        {
            lock (sync)
            {
                return state == BackplaneState.Attached;
            }
        }
    }
}
