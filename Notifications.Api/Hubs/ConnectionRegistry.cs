namespace Notifications.Api.Hubs;

/// <summary>This instance's live connections by user, to move them between groups and to count them.</summary>
public sealed class ConnectionRegistry
{
    // Arrays rather than sets: almost every user has one or two connections, and this is kept per connection.
    private readonly Dictionary<string, string[]> byUser = new(StringComparer.Ordinal);
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
            if (!byUser.TryGetValue(userId, out var existing))
            {
                byUser[userId] = [connectionId];
                connections++;
                return 1;
            }

            if (Array.IndexOf(existing, connectionId) < 0)
            {
                byUser[userId] = existing = [.. existing, connectionId];
                connections++;
            }

            return existing.Length;
        }
    }

    public void Remove(string userId, string connectionId)
    {
        lock (gate)
        {
            if (byUser.TryGetValue(userId, out var existing) && Array.IndexOf(existing, connectionId) >= 0)
            {
                connections--;
                if (existing.Length == 1)
                {
                    byUser.Remove(userId);
                }
                else
                {
                    byUser[userId] = Array.FindAll(existing, id => id != connectionId);
                }
            }
        }
    }

    public IReadOnlyCollection<string> ConnectionsOf(string userId)
    {
        lock (gate)
        {
            return byUser.TryGetValue(userId, out var existing) ? existing : [];
        }
    }
}
