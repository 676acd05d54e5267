namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S3: broadcast deliveries/s at 1k and 10k connections (send API → every client, windowed), and latency
/// p50/p99/max from send to client receipt at 1k connections and 10 broadcasts/s (open loop); on Linux also to when
/// each delivery reached the client's socket (<see cref="Client.SocketArrival"/>), before the tool read it.
/// </summary>
public class BroadcastScenario : Scenario
{
    private static readonly int[] DefaultLevels = [1000, 10000];

    public override string Name => "S3";

    public override string Title => "broadcast: deliveries/s and latency";

    protected virtual IReadOnlyList<int> Levels(RunOptions o) => o.Levels ?? (o.Connections is { } c ? [c] : DefaultLevels);

    protected virtual int LatencyConnections(RunOptions o) => o.LatencyConnections;

    public override int WarmupBroadcastConnections(RunOptions o) => Levels(o)[0];

    public override IReadOnlyList<MetricDef> Table(RunOptions o)
    {
        var rows = new List<MetricDef>();
        foreach (var l in Levels(o))
        {
            rows.Add(new(RunContext.Key("deliveries_per_s", l), $"deliveries/s @{l}", "/s", true));
            rows.Add(new(RunContext.Key("server_cpu_us_per_delivery", l), $"server CPU per delivery @{l}", "µs", false));
            rows.Add(new(RunContext.Key("send_p99_ms", l), $"send API p99 under load @{l}", "ms", false));
        }

        var lc = LatencyConnections(o);
        rows.Add(new("latency_p50_ms", $"latency p50 @{lc}, {o.Rate:F0}/s", "ms", false));
        rows.Add(new("latency_p99_ms", $"latency p99 @{lc}, {o.Rate:F0}/s", "ms", false));
        rows.Add(new("latency_max_ms", $"latency max @{lc}, {o.Rate:F0}/s", "ms", false));
        rows.Add(new("latency_arrival_p50_ms", $"at the socket p50 @{lc}, {o.Rate:F0}/s", "ms", false));
        rows.Add(new("latency_arrival_p99_ms", $"at the socket p99 @{lc}, {o.Rate:F0}/s", "ms", false));
        rows.Add(new("latency_send_p50_ms", $"send API p50 @{lc}, {o.Rate:F0}/s", "ms", false));
        return rows;
    }

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var duration = o.Duration ?? 10;
        var levels = Levels(o);
        var latencyAt = LatencyConnections(o);
        var steps = levels.Select(l => (Count: l, Throughput: true, Latency: l == latencyAt)).ToList();
        if (latencyAt > 0 && !levels.Contains(latencyAt))
        {
            steps.Add((latencyAt, false, true));
        }

        steps.Sort((a, b) => a.Count.CompareTo(b.Count));
        await using var pool = ctx.NewPool(target);
        var label = $"{Name} {target.Label} r{round}";
        foreach (var (count, throughput, latency) in steps)
        {
            var wanted = ctx.CapConnections(count);
            ctx.Progress.Phase($"{label}: connect {wanted}");
            var report = await pool.GrowToAsync(wanted, o.ConnectConcurrency, ctx.ConnectTimeout, o.ConnectRetries, ct);
            if (report.Failed > 0)
            {
                result.Notes.Add($"@{count}: {report.Failed} connects failed ({report.ErrorSummary()})");
            }

            result.Metrics[RunContext.Key("connects_per_s", count)] = report.PerSecond;
            await Task.Delay(TimeSpan.FromSeconds(Math.Min(o.Settle, 2)), ct);
            if (latency)
            {
                await BroadcastPhases.LatencyAsync(ctx, pool, target, label, result, o.Rate, duration, ct);
            }

            if (throughput)
            {
                await BroadcastPhases.ThroughputAsync(ctx, pool, target, label, result, count, duration, ct);
            }
        }

        result.Metrics["server_rss_mb"] = await ServerSampler.MedianRssKbAsync(target.Pids, 3, TimeSpan.FromMilliseconds(200), ct) / 1024;
        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }
}

/// <summary>
/// S6: backplane overhead. Run with --target a,b (two instances sharing Redis; clients split across them, sends
/// alternate) and --baseline c (one instance): same connections, same broadcast load; ratio = 2 instances / 1.
/// </summary>
public sealed class BackplaneScenario : BroadcastScenario
{
    public override string Name => "S6";

    public override string Title => "backplane overhead: N instances + Redis vs 1 instance";

    protected override IReadOnlyList<int> Levels(RunOptions o) => o.Levels ?? [o.Connections ?? 2000];

    protected override int LatencyConnections(RunOptions o) => Levels(o)[0];

    public override IReadOnlyList<MetricDef> Table(RunOptions o)
    {
        var rows = base.Table(o).ToList();
        var l = Levels(o)[0];
        rows.Add(new(RunContext.Key("server_cpu_pct", l), $"server CPU (all instances) @{l}", "% core", false));
        rows.Add(new("server_rss_mb", "server RSS (all instances)", "MB", false));
        return rows;
    }
}
