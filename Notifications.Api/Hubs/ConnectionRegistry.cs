namespace Notifications.Api.Hubs;

/// <summary>This instance's live connections by user, to move them between groups, to count them and to tell each its unread count.</summary>
public sealed class ConnectionRegistry
{
    // Arrays rather than sets: almost every user has one or two connections, and this is kept per connection.
    private readonly Dictionary<string, RegisteredConnection[]> byUser = new(StringComparer.Ordinal);
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

    /// <summary>
    /// Adds the connection with the roles of its validated token (a user's connections may hold tokens with different
    /// roles, and see different inboxes); returns how many connections the user now has here.
    /// </summary>
    public int Add(string userId, string connectionId, IEnumerable<string> roles)
    {
        lock (gate)
        {
            if (!byUser.TryGetValue(userId, out var existing))
            {
                byUser[userId] = [new RegisteredConnection(connectionId, RoleSet.Of(roles))];
                connections++;
                return 1;
            }

            if (Array.FindIndex(existing, c => c.ConnectionId == connectionId) < 0)
            {
                byUser[userId] = existing = [.. existing, new RegisteredConnection(connectionId, RoleSet.Of(roles))];
                connections++;
            }

            return existing.Length;
        }
    }

    public void Remove(string userId, string connectionId)
    {
        lock (gate)
        {
            if (byUser.TryGetValue(userId, out var existing) && Array.FindIndex(existing, c => c.ConnectionId == connectionId) >= 0)
            {
                connections--;
                if (existing.Length == 1)
                {
                    byUser.Remove(userId);
                }
                else
                {
                    byUser[userId] = Array.FindAll(existing, c => c.ConnectionId != connectionId);
                }
            }
        }
    }

    public IReadOnlyCollection<string> ConnectionsOf(string userId)
    {
        lock (gate)
        {
            return byUser.TryGetValue(userId, out var existing) ? Array.ConvertAll(existing, c => c.ConnectionId) : [];
        }
    }

    /// <summary>The user's connections here, each with its token's roles.</summary>
    public IReadOnlyList<RegisteredConnection> ConnectionsWithRolesOf(string userId)
    {
        lock (gate)
        {
            // Copy-on-write: the stored array is never changed, so it can be handed out as it is.
            return byUser.TryGetValue(userId, out var existing) ? existing : [];
        }
    }
}

/// <summary>A live connection and the roles of the token it was opened with (sorted, so equal sets compare equal).</summary>
public sealed record RegisteredConnection(string ConnectionId, RoleSet Roles);

/// <summary>A set of roles in ordinal order; equal when the same roles are in it.</summary>
public sealed class RoleSet : IEquatable<RoleSet>
{
    private static readonly RoleSet None = new([]);

    private RoleSet(string[] roles) => Roles = roles;

    public IReadOnlyList<string> Roles { get; }

    public static RoleSet Of(IEnumerable<string> roles)
    {
        string[] sorted = [.. roles.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        return sorted.Length == 0 ? None : new RoleSet(sorted);
    }

    public bool Equals(RoleSet? other) =>
        other is not null && (ReferenceEquals(this, other) || Roles.SequenceEqual(other.Roles, StringComparer.Ordinal));

    public override bool Equals(object? obj) => Equals(obj as RoleSet);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var role in Roles)
        {
            hash.Add(role, StringComparer.Ordinal);
        }

        return hash.ToHashCode();
    }
}
