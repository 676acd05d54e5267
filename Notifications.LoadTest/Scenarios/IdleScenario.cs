using Notifications.LoadTest.Client;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S1: idle connections at 1k / 5k / 19k (levels grow within one round): server RSS per connection (least-squares slope
/// over the levels, with the empty server as the first point), idle CPU, and this tool's own memory per connection.
/// </summary>
public sealed class IdleScenario : Scenario
{
    private static readonly int[] DefaultLevels = [1000, 5000, 19000];

    public override string Name => "S1";

    public override string Title => "idle connections: memory and CPU";

    public override bool FreshServerPerRound => true;

    public override int WarmupConnections => 50;

    public static IReadOnlyList<int> Levels(RunOptions o) =>
        o.Levels ?? (o.Connections is { } c ? [c] : DefaultLevels);

    public override IReadOnlyList<MetricDef> Table(RunOptions o)
    {
        var rows = new List<MetricDef> { new("rss_slope_kb_per_conn", "RSS per connection (slope)", "KB", false) };
        foreach (var l in Levels(o))
        {
            rows.Add(new(RunContext.Key("rss_mb", l), $"RSS @{l}", "MB", false));
            rows.Add(new(RunContext.Key("idle_cpu_pct", l), $"idle CPU @{l}", "% core", false));
        }

        rows.Add(new("connects_per_s", "connect rate (JWT)", "/s", true));
        rows.Add(new("client_heap_per_conn_kb", "load client managed heap / conn", "KB", false));
        rows.Add(new("client_rss_per_conn_kb", "load client RSS / conn", "KB", false));
        return rows;
    }

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var duration = o.Duration ?? 10;
        var gap = TimeSpan.FromMilliseconds(250);
        var drops0 = Interlocked.Read(ref ctx.Counters.Drops);

        ctx.Progress.Phase($"S1 {target.Label} r{round}: settle (empty)");
        await Task.Delay(TimeSpan.FromSeconds(o.Settle), ct);
        var rss0 = await ServerSampler.MedianRssKbAsync(target.Pids, 5, gap, ct);
        m["rss_mb@0"] = rss0 / 1024;
        var selfHeap0 = SelfHeap();
        var selfRss0 = ProcStats.RssKb(Environment.ProcessId);

        var points = new List<(double X, double Y)>();
        if (!double.IsNaN(rss0))
        {
            points.Add((0, rss0));
        }

        await using var pool = ctx.NewPool(target);
        double connectSeconds = 0;
        var connected = 0;
        foreach (var wanted in Levels(o))
        {
            var level = ctx.CapConnections(wanted);
            ctx.Progress.Phase($"S1 {target.Label} r{round}: connect {level}");
            var report = await pool.GrowToAsync(level, o.ConnectConcurrency, ctx.ConnectTimeout, o.ConnectRetries, ct);
            connectSeconds += report.Seconds;
            connected += report.Connected;
            if (report.Failed > 0)
            {
                result.Notes.Add($"@{wanted}: {report.Failed} connects failed ({report.ErrorSummary()})");
            }

            var open = pool.OpenCount;
            ctx.Progress.Phase($"S1 {target.Label} r{round}: idle @{open} for {duration:F0}s");
            await Task.Delay(TimeSpan.FromSeconds(o.Settle), ct);
            var sampler = new ServerSampler(target.Pids);
            await Task.Delay(TimeSpan.FromSeconds(duration), ct);
            m[RunContext.Key("idle_cpu_pct", wanted)] = sampler.ServerCpuPercent();
            m[RunContext.Key("tool_idle_cpu_pct", wanted)] = sampler.ToolCpuPercent();
            var rss = await ServerSampler.MedianRssKbAsync(target.Pids, 5, gap, ct);
            m[RunContext.Key("rss_mb", wanted)] = rss / 1024;
            m[RunContext.Key("open_connections", wanted)] = open;
            if (open > 0 && !double.IsNaN(rss) && !double.IsNaN(rss0))
            {
                m[RunContext.Key("rss_per_conn_kb", wanted)] = (rss - rss0) / open;
                points.Add((open, rss));
            }

            m[RunContext.Key("client_heap_per_conn_kb", wanted)] = open > 0 ? (SelfHeap() - selfHeap0) / 1024.0 / open : double.NaN;
            m[RunContext.Key("client_rss_per_conn_kb", wanted)] = open > 0 ? (ProcStats.RssKb(Environment.ProcessId) - selfRss0) / (double)open : double.NaN;
        }

        var last = Levels(o)[^1];
        m["client_heap_per_conn_kb"] = m.GetValueOrDefault(RunContext.Key("client_heap_per_conn_kb", last), double.NaN);
        m["client_rss_per_conn_kb"] = m.GetValueOrDefault(RunContext.Key("client_rss_per_conn_kb", last), double.NaN);
        m["connects_per_s"] = connectSeconds > 0 ? connected / connectSeconds : double.NaN;
        // Marginal memory: fit over the connected levels when there are two or more, else from the empty server.
        m["rss_slope_kb_per_conn"] = Slope(points.Count > 2 ? points.Skip(1).ToList() : points);
        m["drops"] = Interlocked.Read(ref ctx.Counters.Drops) - drops0;
        ctx.Progress.Phase($"S1 {target.Label} r{round}: disconnect");
        return result;
    }

    private static long SelfHeap()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(false);
    }

    /// <summary>Least-squares slope of y over x.</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        if (points.Count < 2)
        {
            return double.NaN;
        }

        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        var sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        return sxx == 0 ? double.NaN : sxy / sxx;
    }
}
