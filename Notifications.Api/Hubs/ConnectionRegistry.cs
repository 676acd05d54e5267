namespace Notifications.Api.Hubs;

/// <summary>This instance's live connections by user, to move them between groups and to count them.</summary>
public sealed class ConnectionRegistry
{
    private readonly Dictionary<string, HashSet<string>> byUser = new(StringComparer.Ordinal);
    private readonly Lock gate = new();
    private int connections;

    public int Connections => Volatile.Read(ref connections);

    public IReadOnlyCollection<string> UserIds
    {
        get
        {
            lock (gate)
            {
                return [.. byUser.Keys];
            }
        }
    }

    /// <summary>Adds the connection; returns how many connections the user now has here.</summary>
    public int Add(string userId, string connectionId)
    {
        lock (gate)
        {
            if (!byUser.TryGetValue(userId, out var set))
            {
                byUser[userId] = set = [];
            }

            if (set.Add(connectionId))
            {
                connections++;
            }

            return set.Count;
        }
    }

    public void Remove(string userId, string connectionId)
    {
        lock (gate)
        {
            if (byUser.TryGetValue(userId, out var set) && set.Remove(connectionId))
            {
                connections--;
                if (set.Count == 0)
                {
                    byUser.Remove(userId);
                }
            }
        }
    }

    public IReadOnlyCollection<string> ConnectionsOf(string userId)
    {
        lock (gate)
        {
            return byUser.TryGetValue(userId, out var set) ? [.. set] : [];
        }
    }
}
