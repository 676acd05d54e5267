using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S2: connect storm. N clients (default 10k, distinct users, JWT) connect as fast as the concurrency allows →
/// connects/s. Then every client has seen one marker broadcast; all connections are dropped at once, a few
/// broadcasts are sent while they are away, and all reconnect and call Sync(lastSeenId) → time until every client is
/// back and synced (items include the missed broadcasts).
/// </summary>
public sealed class ConnectStormScenario : Scenario
{
    public override string Name => "S2";

    public override string Title => "connect storm and reconnect + sync";

    private static int Connections(RunOptions o) => o.Connections ?? 10_000;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("connects_per_s", $"connects/s (JWT) @{Connections(o)}", "/s", true),
        new("connect_p99_ms", "connect+handshake p99 (connected clients)", "ms", false),
        new("connect_failed", "connects failed (not in the p99 above)", "", false),
        new("reconnect_synced_s", $"drop {Connections(o)} → all back and synced", "s", false),
        new("reconnect_synced_per_s", "reconnect+sync rate", "/s", true),
        new("sync_p99_ms", "Sync() p99 during reconnect", "ms", false),
        new("not_synced", "clients not synced", "", false),
    ];

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var n = ctx.CapConnections(Connections(o));
        var label = $"S2 {target.Label} r{round}";
        await using var pool = ctx.NewPool(target);

        ctx.Progress.Phase($"{label}: connect storm {n} (concurrency {o.ConnectConcurrency})");
        var sampler = new ServerSampler(target.Pids);
        var storm = await pool.GrowToAsync(n, o.ConnectConcurrency, ctx.ConnectTimeout, 0, ct);
        m["connects_per_s"] = storm.PerSecond;
        m["connect_s"] = storm.Seconds;
        m["connect_failed"] = storm.Failed;
        m["connect_p50_ms"] = storm.Latency.Percentile(50) / 1000.0;
        m["connect_p99_ms"] = storm.Latency.Percentile(99) / 1000.0;
        m["connect_max_ms"] = storm.Latency.Max / 1000.0;
        m["connect_failed_p50_ms"] = storm.FailedLatency.Percentile(50) / 1000.0;
        m["connect_failed_max_ms"] = storm.FailedLatency.Max / 1000.0;
        sampler.AddCpu(m, "@connect");
        if (storm.Failed > 0)
        {
            // The percentiles above describe the clients that connected; a failed attempt has no connect time.
            result.Notes.Add($"storm: {storm.Failed} of {n} failed ({storm.ErrorSummary()}; gave up after p50 " +
                $"{m["connect_failed_p50_ms"]:F0} ms, max {m["connect_failed_max_ms"]:F0} ms); connect p99 covers the {storm.Connected} that connected");
            await pool.ReconnectAllAsync(o.ConnectConcurrency, ctx.ConnectTimeout, o.ConnectRetries, ct);
        }

        // Marker: every client learns a last-seen id.
        var open = pool.OpenCount;
        ctx.Progress.Phase($"{label}: marker broadcast to {open}");
        var d0 = Interlocked.Read(ref ctx.Counters.Deliveries);
        var marker = await ctx.Api.SendAsync(target.Api, SendAudience.All, RunContext.Now, 0, ct);
        if (!marker.Created)
        {
            result.Notes.Add("marker broadcast failed: " + marker.Error);
            result.Passed = false;
            return result;
        }

        if (!await ClientPool.WaitUntilAsync(() => Interlocked.Read(ref ctx.Counters.Deliveries) - d0 >= open, TimeSpan.FromSeconds(30), ct))
        {
            result.Notes.Add($"marker reached {Interlocked.Read(ref ctx.Counters.Deliveries) - d0} of {open} clients in 30 s");
        }

        ctx.Progress.Phase($"{label}: drop all");
        await pool.AbortAllAsync();
        long lastMissed = 0;
        for (var i = 0; i < o.Missed; i++)
        {
            var r = await ctx.Api.SendAsync(target.Api, SendAudience.All, RunContext.Now, i + 1, ct);
            if (r.Created)
            {
                lastMissed = Math.Max(lastMissed, r.Id);
            }
            else
            {
                result.Notes.Add("missed broadcast failed: " + r.Error);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(Math.Min(o.Settle, 1)), ct);
        var syncLatency = new Metrics.Histogram();
        long synced = 0, syncFailed = 0;
        string? firstSyncError = null;
        ctx.Progress.Phase($"{label}: reconnect {n} + Sync", () => $"synced {Interlocked.Read(ref synced)}");
        sampler = new ServerSampler(target.Pids);
        var timeout = TimeSpan.FromSeconds(Math.Max(30, o.ConnectTimeout));
        var back = await pool.ReconnectAllAsync(o.ConnectConcurrency, ctx.ConnectTimeout, Math.Max(3, o.ConnectRetries), ct, async client =>
        {
            var t0 = RunContext.Now;
            // A client that missed the marker resumes from just before it (not from 0: the store may be huge).
            var after = client.MaxId > 0 ? client.MaxId : marker.Id - 1;
            var r = await client.SyncAllAsync(after, 1000, timeout);
            syncLatency.RecordTicks(RunContext.Now - t0);
            if (r.Ok && (lastMissed == 0 || r.MaxItemId >= lastMissed))
            {
                Interlocked.Increment(ref synced);
            }
            else
            {
                Interlocked.Increment(ref syncFailed);
                Interlocked.CompareExchange(ref firstSyncError, r.Ok ? $"sync returned up to {r.MaxItemId}, missed up to {lastMissed}" : r.Error, null);
            }
        });
        sampler.AddCpu(m, "@reconnect");
        m["reconnect_synced_s"] = back.Seconds;
        m["reconnect_synced_per_s"] = back.Seconds > 0 ? synced / back.Seconds : double.NaN;
        m["reconnect_failed"] = back.Failed;
        m["sync_p50_ms"] = syncLatency.Percentile(50) / 1000.0;
        m["sync_p99_ms"] = syncLatency.Percentile(99) / 1000.0;
        m["not_synced"] = n - synced;
        if (back.Failed > 0)
        {
            result.Notes.Add($"reconnect: {back.Failed} failed ({back.ErrorSummary()})");
        }

        if (syncFailed > 0)
        {
            result.Notes.Add($"sync: {syncFailed} clients not synced, first: {firstSyncError}");
        }

        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }
}
