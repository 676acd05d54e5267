namespace Notifications.Client;

/// <summary>Set of the most recent <paramref name="capacity"/> ids (FIFO eviction). Not thread-safe: the owner locks.</summary>
/// <remarks>Bounded so a long-running client does not grow without limit; old ids are safe to forget because a
/// catch-up sync never re-fetches ids far below the cursor.</remarks>
internal sealed class BoundedIdSet(int capacity)
{
    private readonly HashSet<long> _ids = new(capacity);
    private readonly Queue<long> _order = new(capacity);

    public bool Contains(long id) => _ids.Contains(id);

    /// <summary>Adds <paramref name="id"/>; false when it was already present.</summary>
    public bool Add(long id)
    {
        if (!_ids.Add(id))
        {
            return false;
        }

        _order.Enqueue(id);
        if (_order.Count > capacity)
        {
            _ids.Remove(_order.Dequeue());
        }

        return true;
    }
}
