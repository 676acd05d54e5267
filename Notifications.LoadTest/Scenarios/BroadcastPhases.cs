using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>Measurement phases shared by S3 and S6: open-loop latency and windowed broadcast throughput.</summary>
internal static class BroadcastPhases
{
    /// <summary>
    /// Open loop: broadcasts at a fixed rate, each stamped with its scheduled time (so a late sender shows up as
    /// latency, no coordinated omission); latency = client receipt − scheduled send, every receipt recorded.
    /// </summary>
    public static async Task LatencyAsync(RunContext ctx, ClientPool pool, TargetSpec target, string label, RoundResult result,
        double rate, double duration, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var n = pool.OpenCount;
        var start = RunContext.Now + RunContext.TicksFromSeconds(0.2);
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var latency = pool.Context.NewLatencyWindow(recordAfter, withArrivals: true);
        var sendLatency = new Histogram();
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        var sends = new OutcomeTally(ctx.Counters);
        var sampler = (ServerSampler?)null;

        ctx.Progress.Phase($"{label}: latency @{n}, {rate:F0} broadcasts/s open loop for {duration:F0}s",
            () => $"p99 {latency.Percentile(99) / 1000.0:F1} ms");
        await OpenLoop.RunAsync(rate, start, end, async (seq, due) =>
        {
            if (due >= recordAfter && Volatile.Read(ref sampler) is null)
            {
                Interlocked.CompareExchange(ref sampler, new ServerSampler(target.Pids), null);
            }

            var r = await ctx.Api.SendAsync(target.Endpoints[(int)(seq % target.Endpoints.Count)], SendAudience.All, due, seq, ct);
            if (sends.Add(r) && due >= recordAfter)
            {
                sendLatency.RecordTicks(r.Ticks);
            }
        }, ct);

        sampler?.AddCpu(m, "@latency");
        var expected = sends.Ok * n;
        await ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= expected,
            TimeSpan.FromSeconds(15), ct);
        var delivered = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;

        latency.AddSummaryMs(m, "latency");
        if (pool.Context.ArrivalLatency is { Count: > 0 } arrival)
        {
            arrival.AddSummaryMs(m, "latency_arrival");
        }

        sendLatency.AddSummaryMs(m, "latency_send");

        m["latency_connections"] = n;
        m["latency_rate"] = rate;
        m["latency_sends_failed"] = sends.Failed;
        m["latency_lost_deliveries"] = Math.Max(0, expected - delivered);
        sends.Note(result, "latency phase: sends");

        if (expected - delivered > 0)
        {
            result.Notes.Add($"latency phase: {expected - delivered} of {expected} deliveries missing after 15 s");
        }
    }

    /// <summary>
    /// Broadcasts as fast as the server drains them, keeping at most <c>window</c> broadcasts undelivered (send API →
    /// every client); deliveries/s = deliveries / (last receipt − start).
    /// </summary>
    public static async Task ThroughputAsync(RunContext ctx, ClientPool pool, TargetSpec target, string label, RoundResult result,
        int level, double duration, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var n = pool.OpenCount;
        if (n == 0)
        {
            result.Notes.Add($"throughput @{level}: no open connections");
            return;
        }

        var window = (long)o.Window;
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        var latency = pool.Context.NewLatencyWindow(RunContext.Now);
        var sendLatency = new Histogram();
        var sends = new OutcomeTally(ctx.Counters);
        long inflight = 0, seq = 0;
        var retryUntil = 0L;
        var start = RunContext.Now;
        var end = start + RunContext.TicksFromSeconds(duration);
        var sampler = new ServerSampler(target.Pids);
        var tasks = new List<Task>();
        var lastProgress = start;
        var lastDelivered = 0L;

        ctx.Progress.Phase($"{label}: broadcast throughput @{n} for {duration:F0}s");
        while (RunContext.Now < end && !ct.IsCancellationRequested)
        {
            var delivered = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;
            var outstanding = ((sends.Ok + Interlocked.Read(ref inflight)) * n) - delivered;
            if (delivered != lastDelivered)
            {
                lastDelivered = delivered;
                lastProgress = RunContext.Now;
            }
            else if (RunContext.Seconds(RunContext.Now - lastProgress) > 10)
            {
                result.Notes.Add($"throughput @{level}: no delivery progress for 10 s, stopped");
                break;
            }

            if (outstanding >= window * n || Interlocked.Read(ref inflight) >= window || RunContext.Now < retryUntil)
            {
                await Task.Delay(1, ct);
                continue;
            }

            Interlocked.Increment(ref inflight);
            var s = seq++;
            var ep = target.Endpoints[(int)(s % target.Endpoints.Count)];
            tasks.Add(Task.Run(
                async () =>
                {
                    var r = await ctx.Api.SendAsync(ep, SendAudience.All, RunContext.Now, s, ct);
                    if (sends.Add(r))
                    {
                        sendLatency.RecordTicks(r.Ticks);
                    }
                    else if (r.Status == 429)
                    {
                        Volatile.Write(ref retryUntil, RunContext.Now + RunContext.TicksFromSeconds(Math.Max(0.1, r.RetryAfterSeconds)));
                    }

                    Interlocked.Decrement(ref inflight);
                },
                ct));
        }

        await Task.WhenAll(tasks);
        var sentOk = sends.Ok;
        await ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= sentOk * n, TimeSpan.FromSeconds(20), ct);
        // CPU and deliveries over one window: from the first send until the drain wait ended (every delivery counted
        // below happened in it, and so did the server work for them).
        var cpuSeconds = sampler.ServerCpuSeconds();
        var total = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;
        var last = Volatile.Read(ref pool.Context.LastDeliveryTicks);
        var elapsed = RunContext.Seconds(Math.Max(last, start + 1) - start);

        m[RunContext.Key("deliveries_per_s", level)] = total / elapsed;
        m[RunContext.Key("broadcasts_per_s", level)] = sentOk / elapsed;
        m[RunContext.Key("server_cpu_pct", level)] = sampler.ServerCpuPercent();
        m[RunContext.Key("tool_cpu_pct", level)] = sampler.ToolCpuPercent();
        m[RunContext.Key("server_cpu_us_per_delivery", level)] = total > 0 ? cpuSeconds * 1e6 / total : double.NaN;
        m[RunContext.Key("send_p50_ms", level)] = sendLatency.Percentile(50) / 1000.0;
        m[RunContext.Key("send_p99_ms", level)] = sendLatency.Percentile(99) / 1000.0;
        m[RunContext.Key("saturated_latency_p50_ms", level)] = latency.Percentile(50) / 1000.0;
        m[RunContext.Key("saturated_latency_p99_ms", level)] = latency.Percentile(99) / 1000.0;
        m[RunContext.Key("lost_deliveries", level)] = Math.Max(0, (sentOk * n) - total);
        m[RunContext.Key("sends_failed", level)] = sends.Failed;
        m[RunContext.Key("connections", level)] = n;
        sends.Note(result, $"throughput @{level}: sends");

        if ((sentOk * n) - total > 0)
        {
            result.Notes.Add($"throughput @{level}: {(sentOk * n) - total} of {sentOk * n} deliveries missing after 20 s");
        }
    }
}
