using Notifications.LoadTest.Client;

namespace Notifications.LoadTest.Scenarios;

/// <summary>The start every measured round with N connected clients shares.</summary>
internal static class ScenarioSetup
{
    /// <summary>
    /// Connects <paramref name="connections"/> clients to <paramref name="target"/>, notes failed connects on
    /// <paramref name="result"/> (the round goes on with those that connected) and lets the server settle (at most 2 s)
    /// so connect work does not leak into the measurement. The caller disposes the pool.
    /// </summary>
    public static async Task<ClientPool> ConnectAsync(RunContext ctx, TargetSpec target, int connections, string label, RoundResult result,
        CancellationToken ct)
    {
        var o = ctx.Options;
        var pool = ctx.NewPool(target);
        try
        {
            ctx.Progress.Phase($"{label}: connect {connections}");
            var report = await pool.GrowToAsync(connections, o.ConnectConcurrency, ctx.ConnectTimeout, o.ConnectRetries, ct);
            if (report.Failed > 0)
            {
                result.Notes.Add($"{report.Failed} connects failed ({report.ErrorSummary()})");
            }

            await Task.Delay(TimeSpan.FromSeconds(Math.Min(o.Settle, 2)), ct);
            return pool;
        }
        catch
        {
            await pool.DisposeAsync();
            throw;
        }
    }
}
