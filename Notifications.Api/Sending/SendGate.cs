using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>One send waiting for the group commit; completed with its own outcome (or error) by whoever writes it.</summary>
public sealed class PendingSend(Notification notification, CancellationToken cancellationToken, bool replayOnly = false, SendNotificationRequest? request = null)
{
    private string? legacyRequestHash;

    public Notification Notification { get; } = notification;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>
    /// Only a replay of a stored send may answer it; it is never stored itself (see
    /// <see cref="NotificationSender.ReplayAsync"/>).
    /// </summary>
    public bool ReplayOnly { get; } = replayOnly;

    public TaskCompletionSource<SendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Whether a send stored or taken under this send's key has its payload. A hash stored before
    /// <see cref="RequestFingerprint"/> is compared with this request's legacy hash, made only then, so a retry of a send
    /// stored before the upgrade is still answered within its window.
    /// </summary>
    public bool HasPayloadOf(string? requestHash) =>
        requestHash is not null
        && (requestHash == Notification.RequestHash
            || (request is not null && RequestFingerprint.IsLegacy(requestHash) && requestHash == (legacyRequestHash ??= RequestFingerprint.LegacyHashOf(request))));
}

/// <summary>
/// Queues this process's sends before they reach the database's send-order lock, and commits them in groups.
/// Sends are serialized at that lock anyway, so one commit per send caps throughput at one fsync/round trip per
/// send; instead, one writer loop takes every send queued at that moment (up to <see cref="MaxBatch"/>) and writes
/// them in one transaction under one lock, ids in order. Callers only wait for their own outcome: nobody hands a
/// lock from waiter to waiter. Waiting here costs no pooled connection or open transaction, and on SQLite it
/// replaces the driver's 150 ms sleep-and-retry on a busy database with a fair async queue. On SQLite and PostgreSQL
/// the same transactions also delete pushed outbox entries (<see cref="CompletePushed"/>): on SQLite, with one writer,
/// a delete of their own would be another transaction and commit queued behind the sends; on PostgreSQL it would be
/// another transaction and round trip, while here it shares the one that takes the lock. Pushed entries with no send to
/// ride with wait for one (<see cref="OutboxOptions.PushedDeleteDelayMilliseconds"/>), so a lone broadcast costs one
/// commit, not two.
/// </summary>
public sealed class SendGate : IDisposable
{
    public const int MaxBatch = 256;

    /// <summary>As many pushed entries as this are deleted at once, without waiting for a send.</summary>
    private const int PushedDeleteThreshold = 4096;

    private readonly IServiceScopeFactory scopes;
    private readonly ILogger<SendGate> logger;
    private readonly ITimer pushedDeleteTimer;
    private readonly TimeSpan pushedDeleteDelay;

    /// <summary>
    /// Whether pushed outbox entries go through <see cref="CompletePushed"/> instead of a delete of their own: on SQLite
    /// (one writer) and PostgreSQL (where the delete rides in the round trip that takes the lock). SQL Server, not
    /// measured here, keeps the separate delete.
    /// </summary>
    public bool DeletesPushedEntries { get; }

    /// <summary>
    /// On SQLite the writer runs on a thread of its own: every statement there completes synchronously, so the loop
    /// would otherwise hold a thread-pool thread while it writes, and wait behind queued request work each time it
    /// wakes. The writer is the one serial step every send waits for (docs/benchmarks.md, S4, session 11).
    /// </summary>
    private readonly bool ownThread;

    private readonly Channel<WriterItem> queue = Channel.CreateUnbounded<WriterItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock startLock = new();
    private Task? loop;

    public SendGate(IServiceScopeFactory scopes, IOptions<DatabaseOptions> database, IOptions<OutboxOptions> outbox, TimeProvider time, ILogger<SendGate> logger)
    {
        pushedDeleteDelay = TimeSpan.FromMilliseconds(outbox.Value.PushedDeleteDelayMilliseconds);
        this.scopes = scopes;
        this.logger = logger;
        DeletesPushedEntries = database.Value.Provider is DatabaseProvider.Sqlite or DatabaseProvider.Postgres;
        ownThread = database.Value.Provider is DatabaseProvider.Sqlite;
        pushedDeleteTimer = time.CreateTimer(_ => DeletePushedNowAsync(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Queues <paramref name="send"/> for the next group commit and waits for its own outcome.</summary>
    public Task<SendOutcome> SubmitAsync(PendingSend send)
    {
        EnsureStarted();
        if (!queue.Writer.TryWrite(new WriterItem(send, null)))
        {
            send.Completion.TrySetException(new OperationCanceledException("The service is shutting down."));
        }

        // Not abandoned on the caller's cancellation: the writer skips a send cancelled before it is taken, and one
        // already taken is stored and pushed, so the caller must not hear "failed" for it.
        return send.Completion.Task;
    }

    /// <summary>
    /// Hands over outbox entries whose push is done, to be deleted in the next write (or alone, if no send comes within
    /// <see cref="OutboxOptions.PushedDeleteDelayMilliseconds"/>).
    /// If that write fails they stay, and a sweep pushes them again after their lease (a rare, bounded duplicate).
    /// </summary>
    public void CompletePushed(long[] outboxIds)
    {
        EnsureStarted();
        queue.Writer.TryWrite(new WriterItem(null, outboxIds));
    }

    /// <summary>
    /// Deletes the pushed entries handed over so far without waiting for a send, and completes once that write is done.
    /// At shutdown, so the next start does not push them again.
    /// </summary>
    public Task DeletePushedNowAsync()
    {
        EnsureStarted();
        var deleted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!queue.Writer.TryWrite(new WriterItem(null, null, deleted)))
        {
            deleted.TrySetResult();
        }

        return deleted.Task;
    }

    public void Dispose()
    {
        pushedDeleteTimer.Dispose();
        queue.Writer.TryComplete();
        loop?.Wait(TimeSpan.FromSeconds(10));
    }

    private void EnsureStarted()
    {
        if (loop is not null)
        {
            return;
        }

        lock (startLock)
        {
            loop ??= ownThread
                ? Task.Factory.StartNew(() => WriteLoopAsync(blocking: true).GetAwaiter().GetResult(), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default)
                : Task.Run(() => WriteLoopAsync(blocking: false));
        }
    }

    /// <summary>
    /// The writer loop. <paramref name="blocking"/>: waits block the loop's own thread instead of giving it back, so
    /// the loop never leaves that thread (see <see cref="ownThread"/>).
    /// </summary>
    private async Task WriteLoopAsync(bool blocking)
    {
        var batch = new List<PendingSend>(MaxBatch);
        var pushed = new List<long>();
        var deletePushedNow = new List<TaskCompletionSource>();
        var timerArmed = false;
        while (blocking ? queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult() : await queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var item))
            {
                if (item.PushedDeleted is { } deleted)
                {
                    deletePushedNow.Add(deleted);
                    timerArmed = false;
                }
                else if (item.Send is not { } next)
                {
                    pushed.AddRange(item.PushedOutboxIds!);
                }
                else if (next.CancellationToken.IsCancellationRequested)
                {
                    next.Completion.TrySetCanceled(next.CancellationToken);
                }
                else
                {
                    batch.Add(next);
                }
            }

            if (batch.Count == 0 && (pushed.Count == 0 || (deletePushedNow.Count == 0 && pushed.Count < PushedDeleteThreshold)))
            {
                CompleteAll(deletePushedNow);
                if (pushed.Count > 0 && !timerArmed)
                {
                    timerArmed = true;
                    pushedDeleteTimer.Change(pushedDeleteDelay, Timeout.InfiniteTimeSpan);
                }

                continue;
            }

            await WriteAsync(batch, pushed, blocking);
            pushed.Clear();
            CompleteAll(deletePushedNow);
        }
    }

    private static void CompleteAll(List<TaskCompletionSource> waiters)
    {
        foreach (var waiter in waiters)
        {
            waiter.TrySetResult();
        }

        waiters.Clear();
    }

    private async Task WriteAsync(List<PendingSend> batch, List<long> pushed, bool blocking)
    {
        try
        {
            if (blocking)
            {
                using var scope = scopes.CreateScope();
                scope.ServiceProvider.GetRequiredService<NotificationSender>().WriteBatchAsync(batch, pushed).GetAwaiter().GetResult();
            }
            else
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<NotificationSender>().WriteBatchAsync(batch, pushed);
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "A group of {Count} sends (and {Pushed} pushed outbox entries to delete) failed", batch.Count, pushed.Count);
            foreach (var pending in batch)
            {
                pending.Completion.TrySetException(ex);
            }
        }
    }
}

/// <summary>
/// What the writer loop takes in queue order: a send, outbox entries whose push is done, or a request to delete the
/// pushed entries held so far without waiting any longer for a send (completed once they are).
/// </summary>
internal readonly record struct WriterItem(PendingSend? Send, long[]? PushedOutboxIds, TaskCompletionSource? PushedDeleted = null);
