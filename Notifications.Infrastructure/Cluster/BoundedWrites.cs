using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Cluster;

/// <summary>A write to one connection that did not complete at once.</summary>
internal readonly record struct PendingWrite(HubConnectionContext Connection, Task Write);

/// <summary>
/// Writes of one message to many connections, with the wait for the slow ones bounded.
/// </summary>
/// <remarks>
/// A client that keeps its connection alive but stops reading fills its socket and SignalR's pipe, and a write to it
/// then completes only when SignalR gives up on the connection: after its transport send timeout (10 s by default), or
/// for a long-polling client that stops polling, its disconnect timeout. A fan-out that awaited it would hold up every
/// later push of the instance that long (the dispatcher and the Redis channels' loops write one push at a time), and
/// again for every client that stalls. Most writes complete at once and cost nothing here; only the others are
/// remembered, awaited together under one timeout, and those still pending then are aborted: the client reconnects
/// and catches up with Sync (the wire is at-most-once, the inbox complete).
/// </remarks>
internal static class BoundedWrites
{
    /// <summary>
    /// How long a fan-out waits for connections whose write has not completed. A reading client takes a push within
    /// milliseconds, and one that is briefly slow (a GC pause, a congested link) within a second or two; five seconds
    /// of a full socket and pipe (64 KB of pushes unread) means it stopped reading. Shorter than SignalR's transport
    /// send timeout, which would end the wait later. A constant: no operator needs to keep a stalled reader longer,
    /// and every push of the instance waits this long when one stalls.
    /// </summary>
    public static readonly TimeSpan StalledAfter = TimeSpan.FromSeconds(5);

    /// <summary>Starts writing <paramref name="message"/> to <paramref name="connection"/>; remembers the write when it is not done.</summary>
    public static void Start(HubConnectionContext connection, SerializedHubMessage message, ref List<PendingWrite>? pending, CancellationToken cancellationToken)
    {
        ValueTask write;
        try
        {
            write = connection.WriteAsync(message, cancellationToken);
        }
        catch (Exception ex)
        {
            // SignalR's write does not throw; were one to, the other connections still get the push.
            write = ValueTask.FromException(ex);
        }

        if (write.IsCompletedSuccessfully)
        {
            write.GetAwaiter().GetResult();
            return;
        }

        (pending ??= []).Add(new PendingWrite(connection, write.AsTask()));
    }

    /// <summary>
    /// Waits for the <paramref name="pending"/> writes at most <see cref="StalledAfter"/>, then aborts the connections
    /// whose write is still pending. Failed writes are logged, not thrown: SignalR closes such a connection itself.
    /// </summary>
    public static Task CompleteAsync(List<PendingWrite>? pending, ILogger logger, TimeProvider time, CancellationToken cancellationToken) =>
        pending is null ? Task.CompletedTask : CompleteSlowAsync(pending, StalledAfter, logger, time, cancellationToken);

    /// <summary>One write to one connection, bounded the same way (the repair's close message, a send to one connection).</summary>
    public static Task WriteOneAsync(HubConnectionContext connection, HubMessage message, ILogger logger, TimeProvider time, CancellationToken cancellationToken = default)
    {
        ValueTask write;
        try
        {
            write = connection.WriteAsync(message, cancellationToken);
        }
        catch (Exception ex)
        {
            write = ValueTask.FromException(ex);
        }

        return write.IsCompletedSuccessfully
            ? Task.CompletedTask
            : CompleteSlowAsync([new PendingWrite(connection, write.AsTask())], StalledAfter, logger, time, cancellationToken);
    }

    internal static async Task CompleteSlowAsync(List<PendingWrite> pending, TimeSpan timeout, ILogger logger, TimeProvider time, CancellationToken cancellationToken)
    {
        var all = pending.Count == 1 ? pending[0].Write : Task.WhenAll(pending.Select(p => p.Write));
        try
        {
            await all.WaitAsync(timeout, time, cancellationToken);
        }
        catch (TimeoutException)
        {
            foreach (var (connection, write) in pending)
            {
                if (!write.IsCompleted)
                {
                    logger.LogWarning(
                        "Connection {ConnectionId} took no push for {Seconds} s (its client stopped reading); closing it, its client reconnects and syncs",
                        connection.ConnectionId, timeout.TotalSeconds);
                    connection.Abort();
                }
            }

            // The writes end with the aborts; a failure then is of no interest, but must not go unobserved.
            _ = all.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        catch (Exception ex) when (all.IsCompleted)
        {
            logger.LogDebug(ex, "A write of a push to {Count} connections failed; SignalR closes a connection whose write fails", pending.Count);
        }
    }
}
