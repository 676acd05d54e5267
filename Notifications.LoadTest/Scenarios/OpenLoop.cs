using System.Runtime.ExceptionServices;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Requests on a fixed schedule: request i is due at <c>start + i / rate</c> and starts then whether or not the earlier
/// ones finished. A server that falls behind therefore shows up as latency measured from the due time, never as fewer
/// requests (no coordinated omission). With <c>arrivals</c>, the gaps are drawn instead (a Poisson process at the same
/// mean rate), for requests that must not keep step with another fixed schedule running beside them.
/// </summary>
internal static class OpenLoop
{
    /// <summary>
    /// Starts <paramref name="request"/>(seq, due) for every due time in [start, end) and waits for all of them;
    /// <c>due</c> is a Stopwatch timestamp. <paramref name="arrivals"/>: draw exponential gaps from it instead of fixed ones.
    /// </summary>
    public static async Task RunAsync(double rate, long start, long end, Func<long, long, Task> request, CancellationToken ct, Random? arrivals = null)
    {
        var interval = RunContext.TicksFromSeconds(1.0) / rate;

        // Requests in flight, plus one for this loop. Finished requests are not kept: at thousands a second, a list of
        // them kept every finished task alive to the end, and the GC promoting them stalled the tool's own clients.
        var outstanding = 1;
        Exception? firstError = null;
        var allDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        async Task TrackAsync(long seq, long due)
        {
            try
            {
                await Task.Run(() => request(seq, due), ct);
            }
            catch (Exception ex)
            {
                Interlocked.CompareExchange(ref firstError, ex, null);
            }
            finally
            {
                if (Interlocked.Decrement(ref outstanding) == 0)
                {
                    allDone.TrySetResult();
                }
            }
        }

        var offset = 0.0;
        for (long i = 0; ; i++)
        {
            var due = start + (long)(arrivals is null ? i * interval : offset);
            offset += arrivals is null ? 0 : -Math.Log(1.0 - arrivals.NextDouble()) * interval;
            if (due >= end)
            {
                break;
            }

            var wait = RunContext.Seconds(due - RunContext.Now);
            if (wait > 0.001)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), ct);
            }

            Interlocked.Increment(ref outstanding);
            _ = TrackAsync(i, due);
        }

        if (Interlocked.Decrement(ref outstanding) != 0)
        {
            await allDone.Task;
        }

        if (Volatile.Read(ref firstError) is { } error)
        {
            ExceptionDispatchInfo.Throw(error);
        }
    }
}
