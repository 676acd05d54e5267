using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S4: persisted sends to single users. N clients connected (default 1k); `send-concurrency` workers send closed-loop to a
/// random connected user each → sends/s, send API p50/p99 (HTTP accept → 201), delivery p50/p99 (send → receipt).
/// The store (SQLite, PostgreSQL) is the target's configuration: label the targets accordingly.
/// </summary>
public sealed class TargetedScenario : Scenario
{
    public override string Name => "S4";

    public override string Title => "targeted persisted sends";

    private static int Connections(RunOptions o) => o.Connections ?? 1000;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("sends_per_s", $"sends/s to single users ({o.SendConcurrency} concurrent)", "/s", true),
        new("send_p50_ms", "send API p50", "ms", false),
        new("send_p99_ms", "send API p99", "ms", false),
        new("delivery_p50_ms", "send → receipt p50", "ms", false),
        new("delivery_p99_ms", "send → receipt p99", "ms", false),
        new("server_cpu_pct", "server CPU", "% core", false),
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
        foreach (var kv in send.SummaryMs("send"))
        {
            m[kv.Key] = kv.Value;
        }

        foreach (var kv in delivery.SummaryMs("delivery"))
        {
            m[kv.Key] = kv.Value;
        }

        m["sends_failed"] = sends.Failed;
        m["lost_deliveries"] = Math.Max(0, ok - delivered);
        sends.Note(result, "sends");

        if (ok - delivered > 0)
        {
            result.Notes.Add($"{ok - delivered} of {ok} targeted deliveries missing after 15 s");
        }

        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }

    private static Task<bool> WaitForDeliveriesAsync(RunContext ctx, long d0, long expected, CancellationToken ct) =>
        Client.ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= expected, TimeSpan.FromSeconds(15), ct);
}
