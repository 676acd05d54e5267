using System.Threading.Channels;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>One send waiting for the group commit; completed with its own outcome (or error) by whoever writes it.</summary>
public sealed class PendingSend(Notification notification, CancellationToken cancellationToken)
{
    public Notification Notification { get; } = notification;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public TaskCompletionSource<SendOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>
/// Queues this process's sends before they reach the database's send-order lock, and commits them in groups.
/// Sends are serialized at that lock anyway, so one commit per send caps throughput at one fsync/round trip per
/// send; instead, one writer loop takes every send queued at that moment (up to <see cref="MaxBatch"/>) and writes
/// them in one transaction under one lock, ids in order. Callers only wait for their own outcome: nobody hands a
/// lock from waiter to waiter. Waiting here costs no pooled connection or open transaction, and on SQLite it
/// replaces the driver's 150 ms sleep-and-retry on a busy database with a fair async queue.
/// </summary>
public sealed class SendGate(IServiceScopeFactory scopes, ILogger<SendGate> logger) : IDisposable
{
    public const int MaxBatch = 256;

    private readonly SemaphoreSlim writer = new(1, 1);
    private readonly Channel<PendingSend> queue = Channel.CreateUnbounded<PendingSend>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock startLock = new();
    private Task? loop;

    /// <summary>Queues <paramref name="send"/> for the next group commit and waits for its own outcome.</summary>
    public Task<SendOutcome> SubmitAsync(PendingSend send)
    {
        EnsureStarted();
        if (!queue.Writer.TryWrite(send))
        {
            send.Completion.TrySetException(new OperationCanceledException("The service is shutting down."));
        }

        // Not abandoned on the caller's cancellation: the writer skips a send cancelled before it is taken, and one
        // already taken is stored and pushed, so the caller must not hear "failed" for it.
        return send.Completion.Task;
    }

    /// <summary>Exclusive use of the writer, for other writes that would collide with sends (SQLite's single writer).</summary>
    public async Task<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        await writer.WaitAsync(cancellationToken);
        return new Releaser(writer);
    }

    public void Dispose()
    {
        queue.Writer.TryComplete();
        loop?.Wait(TimeSpan.FromSeconds(10));
        writer.Dispose();
    }

    private void EnsureStarted()
    {
        if (loop is not null)
        {
            return;
        }

        lock (startLock)
        {
            loop ??= Task.Run(WriteLoopAsync);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingSend>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var next))
            {
                if (next.CancellationToken.IsCancellationRequested)
                {
                    next.Completion.TrySetCanceled(next.CancellationToken);
                }
                else
                {
                    batch.Add(next);
                }
            }

            if (batch.Count == 0)
            {
                continue;
            }

            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var sender = scope.ServiceProvider.GetRequiredService<NotificationSender>();
                using (await EnterAsync(CancellationToken.None))
                {
                    await sender.WriteBatchAsync(batch);
                }
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "A group of {Count} sends failed", batch.Count);
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>Leaves the writer; the default value holds nothing and releases nothing.</summary>
    public readonly struct Releaser(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
