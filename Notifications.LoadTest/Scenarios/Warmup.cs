using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Before a target's first measured round: a few connections, broadcasts, targeted sends and Syncs, then a few
/// seconds of mixed closed-loop load (`--jit-warmup`), so JIT and first-use costs (connection pools, caches, prepared
/// statements) are not measured. Tiered compilation recompiles hot methods only after they ran a while: a server
/// with more code (ours: EF Core, auth, validation) would otherwise be measured half-compiled against a baseline
/// that already finished.
/// </summary>
internal static class Warmup
{
    public static async Task RunAsync(RunContext ctx, TargetSpec target, int connections, CancellationToken ct)
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
        await MixedLoadAsync(ctx, target, connections, ct);
        foreach (var c in pool.Clients.Where(c => c.IsOpen).Take(20))
        {
            await c.InvokeAsync("Sync", Math.Max(0, last - 10), 100, TimeSpan.FromSeconds(10));
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications?limit=20", ctx.Minter.ForUser(c.Index), ct);
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/unread-count", ctx.Minter.ForUser(c.Index), ct);
        }
    }

    private static async Task MixedLoadAsync(RunContext ctx, TargetSpec target, int connections, CancellationToken ct)
    {
        var seconds = ctx.Options.JitWarmup;
        if (seconds <= 0)
        {
            return;
        }

        ctx.Progress.Phase($"warm-up {target.Label}: {seconds:F0}s of mixed load");
        var end = RunContext.Now + RunContext.TicksFromSeconds(seconds);
        var workers = Enumerable.Range(0, 4).Select(w => Task.Run(
            async () =>
            {
                for (var i = 0; RunContext.Now < end && !ct.IsCancellationRequested; i++)
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
            ct));
        await Task.WhenAll(workers);
    }
}
