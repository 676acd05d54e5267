namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// When one connection's user joined each of its stored groups (<see cref="IGroupJoinTimes"/>), for both lifetime
/// managers. Kept when the connection leaves a group, as a join back records its own time before the connection is
/// added again. Copied on write, so that every group push reads it without a lock (joins are rare).
/// </summary>
internal sealed class ConnectionJoinTimes
{
    private readonly Lock changes = new();

    // UTC ticks per SignalR group name.
    private Dictionary<string, long>? joinedAt;

    /// <summary>As <see cref="IGroupJoinTimes.JoinedAt"/> has it; <see cref="DateTime.MinValue"/> forgets the time.</summary>
    public void Record(string group, DateTime time, bool readUnderHold)
    {
        lock (changes)
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

    /// <summary>The user joined <paramref name="group"/> at or before <paramref name="limitTicks"/>, or when is not known.</summary>
    public bool JoinedBy(string group, long limitTicks)
    {
        var times = Volatile.Read(ref joinedAt);
        return times is null || !times.TryGetValue(group, out var ticks) || ticks <= limitTicks;
    }
}
