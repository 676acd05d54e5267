using System.Collections.Concurrent;
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
/// send; instead, whoever holds the gate writes every send queued at that moment (up to <see cref="MaxBatch"/>)
/// in one transaction under one lock, ids in order. Waiting here costs no pooled connection or open transaction,
/// and on SQLite it replaces the driver's 150 ms sleep-and-retry on a busy database with a fair async queue.
/// </summary>
public sealed class SendGate : IDisposable
{
    public const int MaxBatch = 256;

    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly ConcurrentQueue<PendingSend> queue = new();

    /// <summary>
    /// Queues <paramref name="send"/>; the caller that gets the gate writes batches with <paramref name="writeBatch"/>
    /// until its own send is done. <paramref name="writeBatch"/> must complete every send it is given.
    /// </summary>
    public async Task<SendOutcome> SubmitAsync(PendingSend send, Func<IReadOnlyList<PendingSend>, Task> writeBatch)
    {
        queue.Enqueue(send);
        try
        {
            await gate.WaitAsync(send.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Still queued: a writer may have taken it already (then it is stored and pushed), or will skip it.
            return await send.Completion.Task;
        }

        try
        {
            var batch = new List<PendingSend>(MaxBatch);
            while (!send.Completion.Task.IsCompleted)
            {
                batch.Clear();
                while (batch.Count < MaxBatch && queue.TryDequeue(out var next))
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

                if (batch.Count > 0)
                {
                    try
                    {
                        await writeBatch(batch);
                    }
                    catch (Exception ex)
                    {
                        foreach (var pending in batch)
                        {
                            pending.Completion.TrySetException(ex);
                        }
                    }
                }
            }
        }
        finally
        {
            gate.Release();
        }

        return await send.Completion.Task;
    }

    /// <summary>Exclusive use of the writer, for other writes that would collide with sends (SQLite's single writer).</summary>
    public async Task<Releaser> EnterAsync(CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        return new Releaser(gate);
    }

    public void Dispose() => gate.Dispose();

    public readonly struct Releaser(SemaphoreSlim gate) : IDisposable
    {
        public void Dispose() => gate.Release();
    }
}
