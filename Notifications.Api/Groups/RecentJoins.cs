using System.Collections.Concurrent;

namespace Notifications.Api.Groups;

/// <summary>
/// When this instance last heard of a join to each group (every instance hears every membership change), so that the
/// dispatcher asks the database for members who joined after a send was created only when one may have.
/// </summary>
/// <remarks>
/// A push to a group reaches whoever is in it when the push is written, a little after the send's <c>createdAt</c>
/// (its commit, the dispatcher's queue); a member who joined in between may not see that notification, and must not
/// get its push. Not closed by this: the instance where a join is made moves the joiner's connections at once, and
/// this one hears of it a Redis hop later, so a push that leaves here within that hop can still reach the joiner.
/// </remarks>
public sealed class RecentJoins(TimeProvider time)
{
    /// <summary>How long a join is remembered; a send older than this when pushed is checked against the database.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromMinutes(2);

    // Joins are stamped by their instance's clock and heard by this one's: allow for clocks that differ a little.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(5);

    private const int PruneAbove = 1024;

    private readonly ConcurrentDictionary<string, long> heardAt = new(StringComparer.Ordinal);
    private long anyHeardAt;

    /// <summary>A member joined <paramref name="group"/> (or, with null, any group may have been joined unheard).</summary>
    public void Heard(string? group)
    {
        var now = time.GetUtcNow().UtcTicks;
        if (group is null)
        {
            Interlocked.Exchange(ref anyHeardAt, now);
            return;
        }

        heardAt[group] = now;
        if (heardAt.Count > PruneAbove)
        {
            var before = now - Horizon.Ticks;
            foreach (var (name, at) in heardAt)
            {
                if (at < before)
                {
                    heardAt.TryRemove(KeyValuePair.Create(name, at));
                }
            }
        }
    }

    /// <summary>Whether someone may have joined one of <paramref name="groups"/> after <paramref name="createdAt"/>.</summary>
    public bool MayHaveJoinedSince(IReadOnlyList<string> groups, DateTime createdAt)
    {
        var since = createdAt.Ticks - ClockSkew.Ticks;
        if (since < time.GetUtcNow().UtcTicks - Horizon.Ticks || Interlocked.Read(ref anyHeardAt) >= since)
        {
            return true;
        }

        foreach (var group in groups)
        {
            if (heardAt.TryGetValue(group, out var at) && at >= since)
            {
                return true;
            }
        }

        return false;
    }
}
