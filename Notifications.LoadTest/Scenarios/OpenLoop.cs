namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Requests on a fixed schedule: request i is due at <c>start + i / rate</c> and starts then whether or not the earlier
/// ones finished. A server that falls behind therefore shows up as latency measured from the due time, never as fewer
/// requests (no coordinated omission).
/// </summary>
internal static class OpenLoop
{
    /// <summary>
    /// Starts <paramref name="request"/>(seq, due) for every due time in [start, end) and waits for all of them;
    /// <c>due</c> is a Stopwatch timestamp.
    /// </summary>
    public static async Task RunAsync(double rate, long start, long end, Func<long, long, Task> request, CancellationToken ct)
    {
        var interval = RunContext.TicksFromSeconds(1.0) / rate;
        var pending = new List<Task>();
        for (long i = 0; ; i++)
        {
            var due = start + (long)(i * interval);
            if (due >= end)
            {
                break;
            }

            var wait = RunContext.Seconds(due - RunContext.Now);
            if (wait > 0.001)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), ct);
            }

            var seq = i;
            pending.Add(Task.Run(() => request(seq, due), ct));
        }

        await Task.WhenAll(pending);
    }
}
