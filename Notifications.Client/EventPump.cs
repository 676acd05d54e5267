using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Notifications.Client;

/// <summary>
/// Runs all user-facing event handlers one at a time, in arrival order, off SignalR's receive loop.
/// </summary>
/// <remarks>
/// SignalR's .NET client awaits <c>On(...)</c> handlers on its receive loop; a handler that awaits a hub call
/// (e.g. <c>AckAsync</c> inside <c>NotificationReceived</c>) would wait for a completion the blocked loop can never
/// read. Queueing here keeps the receive loop free, gives handlers a single-threaded view, and lets live pushes and
/// sync pages meet in one place so each id is raised exactly once.
/// </remarks>
internal sealed class EventPump : IAsyncDisposable
{
    // True in the pump's own async flow (and flows it starts): there, waiting for queued work would deadlock.
    private static readonly AsyncLocal<bool> Inside = new();

    private readonly Channel<Func<Task>> _queue =
        Channel.CreateUnbounded<Func<Task>>(new UnboundedChannelOptions { SingleReader = true });

    private readonly ILogger _logger;
    private readonly Task _loop;

    public EventPump(ILogger logger)
    {
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    public static bool IsInsidePump => Inside.Value;

    /// <summary>Called first in background work started from a handler, which inherits the pump's flow.</summary>
    public static void LeavePumpContext() => Inside.Value = false;

    /// <summary>Queues <paramref name="work"/>; silently dropped after disposal (nobody is listening any more).</summary>
    public void Post(Func<Task> work) => _queue.Writer.TryWrite(work);

    /// <summary>Queues <paramref name="work"/> and waits until it ran (backpressure for sync pages).</summary>
    public async Task RunAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        if (IsInsidePump)
        {
            throw new InvalidOperationException("Cannot wait for queued events from inside an event handler.");
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queued = _queue.Writer.TryWrite(async () =>
        {
            try
            {
                await work();
                done.TrySetResult();
            }
            catch (Exception ex)
            {
                done.TrySetException(ex);
            }
        });
        ObjectDisposedException.ThrowIf(!queued, this);
        await done.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();

        // Disposed from a handler: the loop is running that very handler, so it cannot be awaited here.
        if (!IsInsidePump)
        {
            await _loop;
        }
    }

    private async Task RunAsync()
    {
        Inside.Value = true;
        await foreach (var work in _queue.Reader.ReadAllAsync())
        {
            try
            {
                await work();
            }
            catch (Exception ex)
            {
                // Event handlers catch their own exceptions; this only guards the loop against SDK bugs.
                Log.BackgroundFailed(_logger, ex, "event dispatch");
            }
        }
    }
}
