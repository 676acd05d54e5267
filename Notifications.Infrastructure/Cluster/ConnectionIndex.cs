using System.Collections.Concurrent;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// This instance's connections by a key (a user id, a group name), so that a push to a few keys finds their
/// connections by lookup instead of testing every connection of the instance.
/// </summary>
/// <remarks>
/// Pushes read without locking. Changes take one lock, so that a key whose last connection leaves can be dropped: an
/// entry found empty and dropped outside it could take with it a connection added to it meanwhile. Changes come with
/// connects, disconnects and group changes, each a few dictionary operations, so the lock is held only briefly.
/// </remarks>
internal sealed class ConnectionIndex
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, LocalConnection>> byKey = new(StringComparer.Ordinal);
    private readonly Lock changes = new();

    /// <summary>Keys with at least one connection (for tests and diagnostics).</summary>
    public int Count => byKey.Count;

    public void Add(string key, LocalConnection local)
    {
        lock (changes)
        {
            byKey.GetOrAdd(key, static _ => new(StringComparer.Ordinal))[local.Id] = local;
        }
    }

    public void Remove(string key, LocalConnection local)
    {
        lock (changes)
        {
            if (byKey.TryGetValue(key, out var connections) && connections.TryRemove(local.Id, out _) && connections.IsEmpty)
            {
                byKey.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Adds the connections of <paramref name="key"/> to <paramref name="targets"/>.</summary>
    public void CollectInto(string key, HashSet<LocalConnection> targets)
    {
        if (byKey.TryGetValue(key, out var connections))
        {
            // Enumerating the dictionary, unlike its Values, takes no lock.
            foreach (var (_, local) in connections)
            {
                targets.Add(local);
            }
        }
    }

    /// <summary>Adds the connections of <paramref name="key"/> that <paramref name="include"/> accepts.</summary>
    public void CollectInto<TState>(string key, HashSet<LocalConnection> targets, TState state, Func<LocalConnection, TState, bool> include)
    {
        if (byKey.TryGetValue(key, out var connections))
        {
            foreach (var (_, local) in connections)
            {
                if (include(local, state))
                {
                    targets.Add(local);
                }
            }
        }
    }
}
