using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// Writes one push to many connections, so that a client that stops reading holds up no one else's pushes.
/// </summary>
/// <remarks>
/// <para>
/// A client that keeps its connection open but stops reading (a frozen tab, a blocked handler, a link that died
/// quietly) fills its socket and SignalR's pipe; a write to it then completes only when SignalR gives up on the
/// connection, after its transport send timeout. The dispatcher and the Redis channels' loops write one push at a
/// time, so awaiting that write would hold up every later push of the instance, each time a client stalls.
/// </para>
/// <para>
/// A fan-out still waits for writes that do not complete at once, for <see cref="Grace"/> at most: that wait is the
/// backpressure that lets the dispatcher coalesce a burst of broadcasts into one write per socket. A connection whose
/// write outlasts it is <em>lagging</em>: its pending writes are left to finish on their own, and later pushes are
/// handed to it without waiting, until it has caught up and <see cref="SlowFor"/> has passed. SignalR's
/// per-connection write lock serves waiting writes in the order they came, so the connection still gets its pushes in
/// order. A lagging connection with more than <see cref="PushQueueOptions.MaxQueuedPushesPerConnection"/> writes
/// waiting is closed: its client reconnects and catches up with Sync (the wire is at-most-once, the inbox complete).
/// Nothing is closed for being slow alone.
/// </para>
/// </remarks>
public sealed class PushWriter(IOptions<PushQueueOptions> options, TimeProvider time, ILogger<PushWriter> logger)
{
    /// <summary>
    /// How long a fan-out waits for connections whose write did not complete at once. A reading client takes a push
    /// within milliseconds; a busy one within a few hundred.
    /// </summary>
    public static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// How long a connection that lagged is not waited for, even once it has caught up: a client that is slow, not
    /// stopped, would otherwise cost every fan-out its grace each time it falls behind again.
    /// </summary>
    public static readonly TimeSpan SlowFor = TimeSpan.FromSeconds(10);

    private readonly ConditionalWeakTable<HubConnectionContext, Backlog> backlogs = new();
    private readonly int maxQueued = options.Value.MaxQueuedPushesPerConnection;
    private readonly ConcurrentDictionary<HubConnectionContext, int> inGrace = new(ReferenceEqualityComparer.Instance);
    private long queued;

    // The latest time up to which some connection is marked slow (a timestamp of `time`): before it, fan-outs look
    // connections up; after it, and with nothing queued, they need not.
    private long anySlowUntil;

    /// <summary>Writes left to finish on their own, over all connections (a gauge for operators and tests).</summary>
    public long QueuedWrites => Interlocked.Read(ref queued);

    /// <summary>Writes <paramref name="message"/> to each open connection of <paramref name="targets"/>.</summary>
    public Task WriteAsync(IEnumerable<HubConnectionContext> targets, SerializedHubMessage message)
    {
        List<(HubConnectionContext Connection, Task Write)>? pending = null;

        // Nothing queued and no one marked slow (almost always): no lookup per connection is needed.
        var now = time.GetTimestamp();
        var lookUp = Interlocked.Read(ref queued) > 0 || now < Interlocked.Read(ref anySlowUntil);
        foreach (var connection in targets)
        {
            if (connection.ConnectionAborted.IsCancellationRequested)
            {
                continue;
            }

            if (lookUp && backlogs.TryGetValue(connection, out var backlog) && (backlog.IsLagging || backlog.IsSlowAt(now)))
            {
                Enqueue(connection, backlog, connection.WriteAsync(message));
                continue;
            }

            var write = connection.WriteAsync(message);
            if (write.IsCompletedSuccessfully)
            {
                write.GetAwaiter().GetResult();
            }
            else
            {
                (pending ??= []).Add((connection, write.AsTask()));
            }
        }

        return pending is null ? Task.CompletedTask : WaitAWhileAsync(pending);
    }

    /// <summary>The number of writes left to finish on their own for <paramref name="connection"/> (for tests).</summary>
    internal int QueuedFor(HubConnectionContext connection) =>
        backlogs.TryGetValue(connection, out var backlog) ? backlog.Count : 0;

    /// <summary>Whether a fan-out is waiting, under <see cref="Grace"/>, for a write to a connection of <paramref name="userId"/> (for tests).</summary>
    internal bool IsWaitingFor(string userId) => inGrace.Keys.Any(c => c.UserIdentifier == userId);

    /// <summary>Whether a connection of <paramref name="userId"/> lags: writes to it are left to finish on their own (for tests).</summary>
    internal bool IsLagging(string userId) => backlogs.Any(pair => pair.Key.UserIdentifier == userId && pair.Value.IsLagging);

    private async Task WaitAWhileAsync(List<(HubConnectionContext Connection, Task Write)> pending)
    {
        var all = pending.Count == 1 ? pending[0].Write : Task.WhenAll(pending.Select(p => p.Write));
        foreach (var (connection, _) in pending)
        {
            inGrace.AddOrUpdate(connection, 1, static (_, n) => n + 1);
        }

        try
        {
            await all.WaitAsync(Grace, time);
            return;
        }
        catch (TimeoutException)
        {
        }
        catch (Exception ex) when (all.IsCompleted)
        {
            // SignalR's writes do not throw (a failed write aborts its connection); were one to, the others got the push.
            logger.LogDebug(ex, "A write of a push to {Count} connections failed", pending.Count);
            return;
        }
        finally
        {
            foreach (var (connection, _) in pending)
            {
                if (inGrace.AddOrUpdate(connection, 0, static (_, n) => n - 1) <= 0)
                {
                    inGrace.TryRemove(KeyValuePair.Create(connection, 0));
                }
            }
        }

        var slowUntil = time.GetTimestamp() + (long)(SlowFor.TotalSeconds * time.TimestampFrequency);
        foreach (var (connection, write) in pending)
        {
            if (!write.IsCompleted)
            {
                var backlog = backlogs.GetValue(connection, static _ => new Backlog());
                backlog.MarkSlowUntil(slowUntil);
                RaiseAnySlowUntil(slowUntil);
                Enqueue(connection, backlog, new ValueTask(write));
            }
        }
    }

    private void RaiseAnySlowUntil(long until)
    {
        var current = Interlocked.Read(ref anySlowUntil);
        while (current < until)
        {
            var seen = Interlocked.CompareExchange(ref anySlowUntil, until, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void Enqueue(HubConnectionContext connection, Backlog backlog, ValueTask write)
    {
        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            return;
        }

        Interlocked.Increment(ref queued);
        if (backlog.Add() > maxQueued && backlog.TryMarkClosing())
        {
            logger.LogWarning(
                "Connection {ConnectionId} has more than {Max} pushes waiting (its client stopped reading); closing it, its client reconnects and syncs",
                connection.ConnectionId, maxQueued);
            Close(connection);
        }

        _ = CompleteAsync(write, backlog);
    }

    /// <summary>
    /// Ends the connection's transport, as SignalR's transport send timeout does: to the client a dropped link, after
    /// which it reconnects and syncs. Not <see cref="HubConnectionContext.Abort"/>, which also has SignalR send a close
    /// message that tells the client not to reconnect (read by a client that was only slow).
    /// </summary>
    private static void Close(HubConnectionContext connection)
    {
        if (connection.GetHttpContext() is { } http)
        {
            http.Abort();
        }
        else
        {
            connection.Abort();
        }
    }

    private async Task CompleteAsync(ValueTask write, Backlog backlog)
    {
        try
        {
            await write;
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "A queued write of a push failed");
        }
        finally
        {
            backlog.Remove();
            Interlocked.Decrement(ref queued);
        }
    }

    /// <summary>What is waiting for one lagging connection.</summary>
    private sealed class Backlog
    {
        private int count;
        private int closing;
        private long slowUntil;

        public int Count => Volatile.Read(ref count);

        public bool IsLagging => Volatile.Read(ref count) > 0;

        public int Add() => Interlocked.Increment(ref count);

        public void Remove() => Interlocked.Decrement(ref count);

        public bool TryMarkClosing() => Interlocked.Exchange(ref closing, 1) == 0;

        public bool IsSlowAt(long timestamp) => timestamp < Interlocked.Read(ref slowUntil);

        public void MarkSlowUntil(long timestamp) => Interlocked.Exchange(ref slowUntil, timestamp);
    }
}
