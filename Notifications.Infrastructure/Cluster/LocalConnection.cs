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

    /// <summary>When its user joined each of its stored groups.</summary>
    public ConnectionJoinTimes JoinTimes { get; } = new();

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
