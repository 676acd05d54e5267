using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S4: persisted sends to single users. N clients connected (default 1k); `send-concurrency` workers send closed-loop to a
/// random connected user each → sends/s, send API p50/p99 (HTTP accept → 201), delivery p50/p99 (send → receipt).
/// With `send-rate`, an open-loop phase follows: sends on a fixed schedule, latency from each send's due time, so the
/// latency at a given rate is measured without the closed loop's queueing (in flight ÷ rate) or coordinated omission.
/// The store (SQLite, PostgreSQL) is the target's configuration: label the targets accordingly.
/// </summary>
public sealed class TargetedScenario : Scenario
{
    public override string Name => "S4";

    public override string Title => "targeted persisted sends";

    // Open loop: sends beyond this many in flight wait for a socket, and that wait counts in their latency.
    private const int MaxOpenLoopInFlight = 512;

    private static int Connections(RunOptions o) => o.Connections ?? 1000;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("sends_per_s", $"sends/s to single users ({o.SendConcurrency} concurrent)", "/s", true),
        new("send_p50_ms", "send API p50", "ms", false),
        new("send_p99_ms", "send API p99", "ms", false),
        new("delivery_p50_ms", "send → receipt p50", "ms", false),
        new("delivery_p99_ms", "send → receipt p99", "ms", false),
        new("server_cpu_pct", "server CPU", "% core", false),
        .. o.SendRate <= 0
            ? Array.Empty<MetricDef>()
            : [
                new("open_sends_per_s", $"open loop: sends/s done of {o.SendRate:F0}/s due", "/s", true),
                new("open_send_p50_ms", "open loop: send API p50 (from due)", "ms", false),
                new("open_send_p99_ms", "open loop: send API p99 (from due)", "ms", false),
                new("open_delivery_p50_ms", "open loop: due → receipt p50", "ms", false),
                new("open_delivery_p99_ms", "open loop: due → receipt p99", "ms", false),
                new("server_cpu_pct@open", "open loop: server CPU", "% core", false),
            ],
    ];

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var n = ctx.CapConnections(Connections(o));
        var duration = o.Duration ?? 15;
        var label = $"S4 {target.Label} r{round}";
        await using var pool = await ScenarioSetup.ConnectAsync(ctx, target, n, label, result, ct);
        var start = RunContext.Now;
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var delivery = pool.Context.NewLatencyWindow(recordAfter);
        var send = new Histogram();
        var sends = new OutcomeTally(ctx.Counters);
        long okMeasured = 0;
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        ServerSampler? sampler = null;
        ctx.Progress.Phase($"{label}: targeted sends, {o.SendConcurrency} workers, {duration:F0}s",
            () => $"send p99 {send.Percentile(99) / 1000.0:F1} ms");

        var workers = Enumerable.Range(0, o.SendConcurrency).Select(w => Task.Run(
            async () =>
            {
                var rng = new Random(unchecked((round * 7919) + w));
                long seq = 0;
                while (!ct.IsCancellationRequested)
                {
                    var now = RunContext.Now;
                    if (now >= end)
                    {
                        return;
                    }

                    var user = Auth.JwtMinter.UserId(rng.Next(n));
                    var r = await ctx.Api.SendAsync(target.Api, SendAudience.User(user), now, seq++, ct);
                    if (sends.Add(r))
                    {
                        if (now >= recordAfter)
                        {
                            send.RecordTicks(r.Ticks);
                            Interlocked.Increment(ref okMeasured);
                        }
                    }
                    else if (r.Status == 429)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.1, r.RetryAfterSeconds)), ct);
                    }
                }
            },
            ct)).ToList();

        var sample = Task.Run(
            async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(o.Warmup), ct);
                sampler = new ServerSampler(target.Pids);
            },
            ct);
        await Task.WhenAll(workers);
        await sample;
        sampler?.AddCpu(m);
        var measured = RunContext.Seconds(RunContext.Now - recordAfter);
        var ok = sends.Ok;
        await WaitForDeliveriesAsync(ctx, d0, ok, ct);
        var delivered = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;

        m["sends_per_s"] = okMeasured / Math.Max(0.001, measured);
        send.AddSummaryMs(m, "send");

        delivery.AddSummaryMs(m, "delivery");

        m["sends_failed"] = sends.Failed;
        sends.Note(result, "sends");
        RecordLost(result, "lost_deliveries", "", ok, delivered);

        if (o.SendRate > 0)
        {
            await OpenLoopAsync(ctx, pool.Context, target, n, label, result, duration, ct);
        }

        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }

    /// <summary>
    /// Sends to random users at exactly `send-rate` per second, each due at its slot whether or not the earlier ones are
    /// done; send and delivery latency run from the due time, so a server that falls behind shows as latency.
    /// </summary>
    private static async Task OpenLoopAsync(RunContext ctx, Client.ClientContext clients, TargetSpec target, int n, string label,
        RoundResult result, double duration, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var start = RunContext.Now + RunContext.TicksFromSeconds(0.2);
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var delivery = clients.NewLatencyWindow(recordAfter);
        var send = new Histogram();
        var sends = new OutcomeTally(ctx.Counters);
        using var slots = new SemaphoreSlim(MaxOpenLoopInFlight);
        long okMeasured = 0;
        long lastDone = 0;
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        ServerSampler? sampler = null;
        ctx.Progress.Phase($"{label}: open loop, {o.SendRate:F0} sends/s, {duration:F0}s",
            () => $"send p99 {send.Percentile(99) / 1000.0:F1} ms");

        await OpenLoop.RunAsync(o.SendRate, start, end, async (seq, due) =>
        {
            if (due >= recordAfter && Volatile.Read(ref sampler) is null)
            {
                Interlocked.CompareExchange(ref sampler, new ServerSampler(target.Pids), null);
            }

            var user = Auth.JwtMinter.UserId(Random.Shared.Next(n));
            await slots.WaitAsync(ct);
            SendOutcome r;
            try
            {
                r = await ctx.Api.SendAsync(target.Api, SendAudience.User(user), due, seq, ct);
            }
            finally
            {
                slots.Release();
            }

            var done = RunContext.Now;
            if (sends.Add(r) && due >= recordAfter)
            {
                send.RecordTicks(done - due);
                Interlocked.Increment(ref okMeasured);
                Atomic.Max(ref lastDone, done);
            }
        }, ct);

        sampler?.AddCpu(m, "@open");
        var ok = sends.Ok;
        await WaitForDeliveriesAsync(ctx, d0, ok, ct);
        var delivered = Interlocked.Read(ref ctx.Counters.Deliveries) - d0;

        // Sends due in the window over the time until the last of them was done: below the due rate when the server
        // fell behind.
        m["open_sends_per_s"] = okMeasured / Math.Max(0.001, RunContext.Seconds(Math.Max(end, lastDone) - recordAfter));
        send.AddSummaryMs(m, "open_send");

        delivery.AddSummaryMs(m, "open_delivery");

        m["open_rate"] = o.SendRate;
        m["open_sends_failed"] = sends.Failed;
        sends.Note(result, "open-loop sends");
        RecordLost(result, "open_lost_deliveries", "open loop: ", ok, delivered);
    }

    /// <summary>Sends accepted whose delivery never arrived (waited for 15 s): a metric, and a note when there are any.</summary>
    private static void RecordLost(RoundResult result, string metric, string notePrefix, long ok, long delivered)
    {
        var lost = Math.Max(0, ok - delivered);
        result.Metrics[metric] = lost;
        if (lost > 0)
        {
            result.Notes.Add($"{notePrefix}{lost} of {ok} targeted deliveries missing after 15 s");
        }
    }

    private static Task<bool> WaitForDeliveriesAsync(RunContext ctx, long d0, long expected, CancellationToken ct) =>
        Client.ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= expected, TimeSpan.FromSeconds(15), ct);
}
