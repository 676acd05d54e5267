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
        var total = (int)Math.Ceiling((o.Warmup + duration) * rate);
        var interval = RunContext.TicksFromSeconds(1.0 / rate);
        var start = RunContext.Now + RunContext.TicksFromSeconds(0.2);
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var latency = pool.Context.NewLatencyWindow(recordAfter);
        var sendLatency = new Histogram();
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        long ok = 0, failed = 0, expected = 0;
        string? firstError = null;
        var sampler = (ServerSampler?)null;
        var tasks = new List<Task>(total);

        ctx.Progress.Phase($"{label}: latency @{n}, {rate:F0} broadcasts/s open loop for {duration:F0}s",
            () => $"p99 {latency.Percentile(99) / 1000.0:F1} ms");
        for (var i = 0; i < total; i++)
        {
            var due = start + (i * interval);
            var wait = RunContext.Seconds(due - RunContext.Now);
            if (wait > 0.001)
            {
                await Task.Delay(TimeSpan.FromSeconds(wait), ct);
            }

            if (sampler is null && due >= recordAfter)
            {
                sampler = new ServerSampler(target.Pids);
            }

            var seq = i;
            var ep = target.Endpoints[seq % target.Endpoints.Count];
            tasks.Add(Task.Run(
                async () =>
                {
                    var r = await ctx.Api.SendAsync(ep, SendAudience.All, due, seq, ct);
                    Interlocked.Increment(ref ctx.Counters.Sent);
                    if (r.Created)
                    {
                        Interlocked.Increment(ref ok);
                        Interlocked.Add(ref expected, n);
                        if (due >= recordAfter)
                        {
                            sendLatency.RecordTicks(r.Ticks);
                        }
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        Interlocked.Increment(ref ctx.Counters.Errors);
                        Interlocked.CompareExchange(ref firstError, r.Error, null);
                    }
                },
                ct));
        }

        await Task.WhenAll(tasks);
        sampler?.AddCpu(m, "@latency");
        await ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= Interlocked.Read(ref expected),
            TimeSpan.FromSeconds(15), ct);
        var delivered = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;

        foreach (var kv in latency.SummaryMs("latency"))
        {
            m[kv.Key] = kv.Value;
        }

        foreach (var kv in sendLatency.SummaryMs("latency_send"))
        {
            m[kv.Key] = kv.Value;
        }

        m["latency_connections"] = n;
        m["latency_rate"] = rate;
        m["latency_sends_failed"] = failed;
        m["latency_lost_deliveries"] = Math.Max(0, expected - delivered);
        if (failed > 0)
        {
            result.Notes.Add($"latency phase: {failed} sends failed, first: {firstError}");
        }

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
        long ok = 0, failed = 0, inflight = 0, seq = 0;
        string? firstError = null;
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
            var outstanding = ((Interlocked.Read(ref ok) + Interlocked.Read(ref inflight)) * n) - delivered;
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
                    Interlocked.Increment(ref ctx.Counters.Sent);
                    if (r.Created)
                    {
                        sendLatency.RecordTicks(r.Ticks);
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        Interlocked.Increment(ref ctx.Counters.Errors);
                        Interlocked.CompareExchange(ref firstError, r.Error, null);
                        if (r.Status == 429)
                        {
                            Volatile.Write(ref retryUntil, RunContext.Now + RunContext.TicksFromSeconds(Math.Max(0.1, r.RetryAfterSeconds)));
                        }
                    }

                    Interlocked.Decrement(ref inflight);
                },
                ct));
        }

        await Task.WhenAll(tasks);
        var sentOk = Interlocked.Read(ref ok);
        await ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= sentOk * n, TimeSpan.FromSeconds(20), ct);
        var total = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;
        var last = Volatile.Read(ref pool.Context.LastDeliveryTicks);
        var elapsed = RunContext.Seconds(Math.Max(last, start + 1) - start);
        var cpu = sampler.ServerCpuPercent();

        m[RunContext.Key("deliveries_per_s", level)] = total / elapsed;
        m[RunContext.Key("broadcasts_per_s", level)] = sentOk / elapsed;
        m[RunContext.Key("server_cpu_pct", level)] = cpu;
        m[RunContext.Key("tool_cpu_pct", level)] = sampler.ToolCpuPercent();
        m[RunContext.Key("server_cpu_us_per_delivery", level)] = total > 0 ? cpu / 100.0 * elapsed * 1e6 / total : double.NaN;
        m[RunContext.Key("send_p50_ms", level)] = sendLatency.Percentile(50) / 1000.0;
        m[RunContext.Key("send_p99_ms", level)] = sendLatency.Percentile(99) / 1000.0;
        m[RunContext.Key("saturated_latency_p50_ms", level)] = latency.Percentile(50) / 1000.0;
        m[RunContext.Key("saturated_latency_p99_ms", level)] = latency.Percentile(99) / 1000.0;
        m[RunContext.Key("lost_deliveries", level)] = Math.Max(0, (sentOk * n) - total);
        m[RunContext.Key("sends_failed", level)] = failed;
        m[RunContext.Key("connections", level)] = n;
        if (failed > 0)
        {
            result.Notes.Add($"throughput @{level}: {failed} sends failed, first: {firstError}");
        }

        if ((sentOk * n) - total > 0)
        {
            result.Notes.Add($"throughput @{level}: {(sentOk * n) - total} of {sentOk * n} deliveries missing after 20 s");
        }
    }
}
