using System.Diagnostics;
using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Before a target's first measured round: a few connections, broadcasts, targeted sends and Syncs; for the broadcast
/// scenarios a burst of windowed broadcasts to their first level of connections (`--broadcast-warmup`); then a few
/// seconds of mixed closed-loop load (`--jit-warmup`), so JIT and first-use costs (connection pools, caches, prepared
/// statements) are not measured. Tiered compilation recompiles hot methods only after they ran a while: a server
/// with more code (ours: EF Core, auth, validation) would otherwise be measured half-compiled against a baseline
/// that already finished.
/// </summary>
internal static class Warmup
{
    public static async Task RunAsync(RunContext ctx, TargetSpec target, int connections, int broadcastConnections, CancellationToken ct)
    {
        if (connections <= 0)
        {
            return;
        }

        ctx.Progress.Phase($"warm-up {target.Label}: {connections} connections");
        await using var pool = ctx.NewPool(target);
        var report = await pool.GrowToAsync(connections, ctx.Options.ConnectConcurrency, ctx.ConnectTimeout, ctx.Options.ConnectRetries, ct);
        if (report.Connected == 0)
        {
            ctx.Log($"warning: warm-up against {target.Label} connected no client: {report.ErrorSummary()}");
            return;
        }

        long last = 0, lastBroadcast = 0;
        for (var i = 0; i < 20; i++)
        {
            var r = await ctx.Api.SendAsync(target.Endpoints[i % target.Endpoints.Count],
                i % 2 == 0 ? SendAudience.All : SendAudience.User(Auth.JwtMinter.UserId(i % connections)), RunContext.Now, i, ct);
            if (!r.Created)
            {
                ctx.Log($"warning: warm-up send to {target.Label} failed: {r.Error}");
                break;
            }

            last = r.Id;
            if (i % 2 == 0)
            {
                lastBroadcast = r.Id;
            }
        }

        await ClientPool.WaitUntilAsync(() => pool.Clients.Where(c => c.IsOpen).All(c => c.MaxId >= lastBroadcast), TimeSpan.FromSeconds(10), ct, 20);
        await BroadcastBurstAsync(ctx, pool, target, broadcastConnections, ct);
        await MixedLoadAsync(ctx, target, connections, ct);
        foreach (var c in pool.Clients.Where(c => c.IsOpen).Take(20))
        {
            await c.InvokeAsync("Sync", Math.Max(0, last - 10), 100, TimeSpan.FromSeconds(10));
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications?limit=20", ctx.Minter.ForUser(c.Index), ct);
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/unread-count", ctx.Minter.ForUser(c.Index), ct);
        }
    }

    /// <summary>
    /// The scenario's own measured path, unmeasured: its first measured round would otherwise be the first time the
    /// server sees a broadcast burst, and in S6 that round ran 20–30 % slower than the next ones.
    /// </summary>
    private static async Task BroadcastBurstAsync(RunContext ctx, ClientPool pool, TargetSpec target, int connections, CancellationToken ct)
    {
        var seconds = ctx.Options.BroadcastWarmup;
        if (connections <= 0 || seconds <= 0)
        {
            return;
        }

        await pool.GrowToAsync(ctx.CapConnections(connections), ctx.Options.ConnectConcurrency, ctx.ConnectTimeout, ctx.Options.ConnectRetries, ct);
        var burst = new RoundResult();
        await BroadcastPhases.ThroughputAsync(ctx, pool, target, $"warm-up {target.Label}", burst, connections, seconds, ct);
        var rate = burst.Metrics.GetValueOrDefault(RunContext.Key("deliveries_per_s", connections));
        ctx.Log($"warm-up {target.Label}: {seconds:F0}s of broadcasts to {pool.OpenCount} connections, {rate:F0} deliveries/s" +
            (burst.Notes.Count > 0 ? $" ({string.Join("; ", burst.Notes)})" : string.Empty));
    }

    private static async Task MixedLoadAsync(RunContext ctx, TargetSpec target, int connections, CancellationToken ct)
    {
        var seconds = ctx.Options.JitWarmup;
        if (seconds <= 0)
        {
            return;
        }

        ctx.Progress.Phase($"warm-up {target.Label}: {seconds:F0}s of mixed load, longer while its JIT is busy");
        var started = RunContext.Now;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(
            async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var user = (w * 7919 + i) % connections;
                    var audience = i % 50 == 0 ? SendAudience.All : SendAudience.User(Auth.JwtMinter.UserId(user));
                    await ctx.Api.SendAsync(target.Endpoints[i % target.Endpoints.Count], audience, RunContext.Now, i, ct);
                    if (i % 10 == 0)
                    {
                        await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/sync?after=0&limit=20", ctx.Minter.ForUser(user), ct);
                        await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/unread-count", ctx.Minter.ForUser(user), ct);
                    }
                }
            },
            ct)).ToList();

        await Task.Delay(TimeSpan.FromSeconds(seconds), ct);
        var settled = await UntilJitSettledAsync(ctx, target, Math.Max(0, ctx.Options.JitWarmupMax - seconds), ct);
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        var took = Stopwatch.GetElapsedTime(started).TotalSeconds;
        ctx.Log(settled switch
        {
            true => $"warm-up {target.Label}: tiered compilation settled after {took:F0}s of mixed load",
            false => $"warning: warm-up {target.Label}: tiered compilation still busy after {took:F0}s of mixed load (--jit-warmup-max)",
            null => $"warm-up {target.Label}: {took:F0}s of mixed load (tiered compilation not observable: pid unknown or not Linux)",
        });
    }

    /// <summary>
    /// Waits in slices until the server's tiered compilation thread used less than <see cref="SettledJitShare"/> of a core
    /// over a slice: a server with more code (ours: EF Core, auth, validation) is still recompiling hot methods long after
    /// a small one (the baseline), and would otherwise be measured half-compiled. True when settled, false when
    /// <paramref name="maxSeconds"/> ran out, null when the thread cannot be observed.
    /// </summary>
    private static async Task<bool?> UntilJitSettledAsync(RunContext ctx, TargetSpec target, double maxSeconds, CancellationToken ct)
    {
        const double Slice = 3;
        var before = ProcStats.ThreadCpuSeconds(target.Pids, TieredCompilationThread);
        if (before < 0)
        {
            return null;
        }

        for (double waited = 0; ; waited += Slice)
        {
            await Task.Delay(TimeSpan.FromSeconds(Slice), ct);
            var now = ProcStats.ThreadCpuSeconds(target.Pids, TieredCompilationThread);
            if (now < 0)
            {
                return null;
            }

            var share = (now - before) / Slice / target.Pids.Count;
            if (share < SettledJitShare)
            {
                return true;
            }

            if (waited + Slice >= maxSeconds)
            {
                return false;
            }

            ctx.Progress.Phase($"warm-up {target.Label}: JIT still busy ({share:P0} of a core), more mixed load");
            before = now;
        }
    }

    private const string TieredCompilationThread = ".NET Tiered Com";

    private const double SettledJitShare = 0.03;
}
