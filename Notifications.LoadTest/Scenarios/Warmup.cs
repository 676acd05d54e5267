using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// Before a target's first measured round: a few connections, broadcasts, a targeted send and a Sync, so JIT and
/// first-use costs (connection pools, caches, prepared statements) are not measured.
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
        foreach (var c in pool.Clients.Where(c => c.IsOpen).Take(20))
        {
            await c.InvokeAsync("Sync", Math.Max(0, last - 10), 100, TimeSpan.FromSeconds(10));
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications?limit=20", ctx.Minter.ForUser(c.Index), ct);
            await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/unread-count", ctx.Minter.ForUser(c.Index), ct);
        }
    }
}
