namespace Notifications.Client;

/// <summary>
/// Decides which notifications are raised (exactly once per id, never after a retraction) and where a catch-up
/// sync resumes. Thread-safe: SignalR callbacks, syncs and readers of <see cref="Cursor"/> run concurrently.
/// </summary>
internal sealed class DeliveryTracker(long initialCursor, int capacity, TimeSpan reorderWindow, TimeProvider clock)
{
    private readonly Lock _lock = new();

    // De-dup by set, not only by cursor: live pushes may arrive out of id order, so an id below the cursor
    // can still be new, and a sync re-fetches ids that already came live.
    private readonly BoundedIdSet _delivered = new(capacity);
    private readonly BoundedIdSet _retracted = new(capacity);

    // When the cursor advanced, and from what: lets a catch-up resume from "the cursor as it was
    // ReorderWindow before the disconnect". Capped so the re-fetched ids surely are still in _delivered.
    private readonly Queue<Checkpoint> _checkpoints = new();
    private readonly int _maxCheckpoints = Math.Max(1, capacity / 2);
    private readonly long _windowTicks = (long)(reorderWindow.TotalSeconds * clock.TimestampFrequency);

    private long _cursor = initialCursor;

    // Every visible id up to here was raised: the app's saved cursor, then what sync pages confirmed. A push of such an
    // id is a repeat (an outbox takeover re-pushes, a slow push lands after the sync) even when _delivered has
    // forgotten it, e.g. after a process restart.
    private long _floor = initialCursor;
    private long? _disconnectedAt;
    private long _disconnectEpoch;

    // Until a catch-up completes (before the first sync, after a drop) and while any sync runs, ids below a live push
    // may not be delivered yet: a live push then must not move the cursor, or an app persisting it (or a sync
    // resuming from it) would skip them. The highest such id is applied when a sync completes.
    private bool _catchUpPending = true;
    private bool _syncing;
    private long _liveDuringSync;

    // Live ids claimed while a catch-up was pending or running and not yet under the floor: that catch-up may fetch
    // them again after more than `capacity` other ids, which would push them out of _delivered.
    private readonly HashSet<long> _claimedAheadOfSync = [];

    /// <summary>Highest id delivered (its handlers have completed) or confirmed by a sync page.</summary>
    public long Cursor
    {
        get
        {
            lock (_lock)
            {
                return _cursor;
            }
        }
    }

    /// <summary>True when <paramref name="id"/> is to be raised now; it is then remembered as delivered.</summary>
    /// <param name="live">True for a live push, false for an item of a sync page.</param>
    public bool TryClaim(long id, bool live)
    {
        lock (_lock)
        {
            if (id <= _floor || _retracted.Contains(id) || _claimedAheadOfSync.Contains(id) || !_delivered.Add(id))
            {
                return false;
            }

            if (live && (_syncing || _catchUpPending))
            {
                _claimedAheadOfSync.Add(id);
            }

            return true;
        }
    }

    /// <summary>Remembers a retraction so a later (or re-fetched) arrival of <paramref name="id"/> is dropped.</summary>
    /// <returns>False when this retraction was already seen (the event is raised once).</returns>
    public bool Retract(long id)
    {
        lock (_lock)
        {
            return _retracted.Add(id);
        }
    }

    /// <summary>Moves the cursor up (never down); called after an id's handlers ran, and with each sync page's cursor.</summary>
    /// <param name="live">
    /// True for a live push. Only those can overtake each other on the wire, so only they move the resume point
    /// back; ids confirmed by a sync page are complete as far as the server is concerned (contract) and are not
    /// re-fetched, which keeps a reconnect shortly after a large initial sync from downloading it again.
    /// A live push that comes while a catch-up is pending or running is applied when the sync completes.
    /// </param>
    public void Advance(long id, bool live)
    {
        lock (_lock)
        {
            if (live && (_syncing || _catchUpPending))
            {
                _liveDuringSync = Math.Max(_liveDuringSync, id);
                return;
            }

            if (!live)
            {
                _floor = Math.Max(_floor, id);
            }

            AdvanceCore(id, live);
        }
    }

    private void AdvanceCore(long id, bool live)
    {
        if (id <= _cursor)
        {
            return;
        }

        var now = clock.GetTimestamp();
        if (live)
        {
            _checkpoints.Enqueue(new Checkpoint(now, _cursor));
        }

        _cursor = id;

        // Entries older than two windows before the newest can never be the answer of ResumePoint.
        while (_checkpoints.Count > _maxCheckpoints
               || (_checkpoints.Count > 0 && now - _checkpoints.Peek().At > 2 * _windowTicks))
        {
            _checkpoints.Dequeue();
        }
    }

    /// <summary>The connection dropped; the first drop of an outage is the reference time for the resume point.</summary>
    public void MarkDisconnected()
    {
        lock (_lock)
        {
            _disconnectedAt ??= clock.GetTimestamp();
            _disconnectEpoch++;
            _catchUpPending = true;
        }
    }

    /// <summary>
    /// Where a catch-up begun now would start, and so what to persist for a restart: the cursor as it was
    /// <c>ReorderWindow</c> before the disconnect (or now), since a live push since then may have overtaken one still
    /// on the wire.
    /// </summary>
    public long ResumeCursor
    {
        get
        {
            lock (_lock)
            {
                return ResumePoint();
            }
        }
    }

    /// <summary>Where the next sync starts: <see cref="ResumeCursor"/>.</summary>
    public SyncStart BeginSync()
    {
        lock (_lock)
        {
            _syncing = true;
            return new SyncStart(ResumePoint(), _disconnectEpoch);
        }
    }

    private long ResumePoint()
    {
        var reference = _disconnectedAt ?? clock.GetTimestamp();
        foreach (var checkpoint in _checkpoints)
        {
            if (checkpoint.At >= reference - _windowTicks)
            {
                return Math.Min(_cursor, checkpoint.CursorBefore);
            }
        }

        return _cursor;
    }

    /// <summary>A sync begun by <paramref name="start"/> finished; forget the outage unless a new one began meanwhile.</summary>
    public void EndSync(SyncStart start)
    {
        lock (_lock)
        {
            if (start.Epoch == _disconnectEpoch)
            {
                _disconnectedAt = null;
                _catchUpPending = false;
            }

            // The sync delivered every id up to the cursor, including any a live push overtook before it began: the
            // earlier checkpoints are settled, and resuming below the cursor would re-fetch more ids than the
            // de-dup set may still hold (a large catch-up), raising them twice.
            _checkpoints.Clear();
            _syncing = false;

            // Live pushes that came during the sync count from now, like any live push: ids they overtook are
            // re-fetched by the next catch-up within the reorder window.
            AdvanceCore(_liveDuringSync, live: true);
            _liveDuringSync = 0;

            // At or under the floor an id is never raised again; above it, it stays held until a catch-up covers it.
            _claimedAheadOfSync.RemoveWhere(id => id <= _floor);
        }
    }

    /// <summary>A sync failed: the cursor stays where its delivered pages left it; a later sync resumes from there.</summary>
    public void AbortSync()
    {
        lock (_lock)
        {
            // The live ids it deferred stay deferred until a sync completes.
            _syncing = false;
        }
    }

    internal readonly record struct SyncStart(long AfterId, long Epoch);

    private readonly record struct Checkpoint(long At, long CursorBefore);
}
