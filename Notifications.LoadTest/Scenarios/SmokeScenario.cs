using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// smoke: a few connections (default 5), 3 broadcasts that every client must receive (matched by the ids of the 201
/// bodies) with their payload stamp, a hub ping from every client, one targeted send only its user may receive, an Ack,
/// and a Sync that must return the broadcasts; every client must still be connected at the end. Exit code 1 on any miss.
/// No timing assertions.
/// </summary>
public sealed class SmokeScenario : Scenario
{
    public override string Name => "smoke";

    public override string Title => "smoke: connect, broadcast, target, sync";

    public override bool SingleRound => true;

    public override int WarmupConnections => 0;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("passed", "passed (1 = yes)", "", true),
        new("connected", "clients connected", "", true),
        new("broadcast_receipts", "broadcast receipts", "", true),
        new("delivery_max_ms", "slowest receipt", "ms", false),
    ];

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var n = Math.Max(2, o.Connections ?? 5);
        const int Broadcasts = 3;
        var timeout = TimeSpan.FromSeconds(Math.Max(5, o.Duration ?? 10));
        await using var pool = ctx.NewPool(target);
        pool.Context.TrackIds = true;
        var latency = pool.Context.NewLatencyWindow(0);

        ctx.Progress.Phase($"smoke {target.Label}: connect {n}");
        var report = await pool.GrowToAsync(n, n, ctx.ConnectTimeout, o.ConnectRetries, ct);
        m["connected"] = report.Connected;
        if (report.Connected < n)
        {
            Fail(result, $"{n - report.Connected} of {n} clients could not connect: {report.ErrorSummary()}");
            return Finish(result);
        }

        ctx.Progress.Phase($"smoke {target.Label}: {Broadcasts} broadcasts");
        var ids = new List<long>();
        for (var i = 0; i < Broadcasts; i++)
        {
            var r = await ctx.Api.SendAsync(target.Api, SendAudience.All, RunContext.Now, i, ct);
            if (!r.Created || r.Id <= 0)
            {
                Fail(result, $"broadcast {i + 1}: {r.Error ?? "201 without id"}");
                return Finish(result);
            }

            ids.Add(r.Id);
        }

        bool AllReceived() => pool.Clients.All(c => ids.All(id => Has(c, id)));
        await ClientPool.WaitUntilAsync(AllReceived, timeout, ct, 20);
        var receipts = pool.Clients.Sum(c => ids.Count(id => Has(c, id)));
        m["broadcast_receipts"] = receipts;
        if (receipts < n * Broadcasts)
        {
            foreach (var c in pool.Clients.Where(c => !ids.All(id => Has(c, id))).Take(3))
            {
                Fail(result, $"{c.UserId} is missing broadcasts {string.Join(",", ids.Where(id => !Has(c, id)))} (open: {c.IsOpen}, last error: {c.LastError ?? "none"})");
            }
        }

        // Every receipt must carry its payload stamp (data.sentAt), or no scenario could measure a latency. A client adds
        // the id just before it records the latency: allow it that moment.
        await ClientPool.WaitUntilAsync(() => latency.Count >= receipts, TimeSpan.FromSeconds(2), ct, 5);
        m["stamped_receipts"] = latency.Count;
        m["delivery_max_ms"] = latency.Max / 1000.0;
        if (latency.Count < receipts)
        {
            Fail(result, $"only {latency.Count} of {receipts} broadcast receipts had a readable data.sentAt");
        }

        // Every client pings once, as an idle client does after 15 s: a server that cannot read the ping closes the
        // connection, which the targeted send, the Sync and the check at the end then show.
        var now = RunContext.Now;
        await Task.WhenAll(pool.Clients.Select(c => c.PingIfIdleAsync(now, 0)));

        ctx.Progress.Phase($"smoke {target.Label}: targeted send");
        var targetClient = pool.Clients[1];
        var targeted = await ctx.Api.SendAsync(target.Api, SendAudience.User(targetClient.UserId), RunContext.Now, 99, ct);
        if (!targeted.Created)
        {
            Fail(result, "targeted send: " + targeted.Error);
        }
        else
        {
            var got = await ClientPool.WaitUntilAsync(() => Has(targetClient, targeted.Id), timeout, ct, 20);
            if (!got)
            {
                Fail(result, $"{targetClient.UserId} did not receive targeted notification {targeted.Id}");
            }

            // Anyone else receiving it would be a leak; give stragglers a moment.
            await Task.Delay(300, ct);
            var leaked = pool.Clients.Where(c => c != targetClient && Has(c, targeted.Id)).Select(c => c.UserId).ToList();
            if (leaked.Count > 0)
            {
                Fail(result, $"targeted notification {targeted.Id} also reached {string.Join(",", leaked)}");
            }
        }

        ctx.Progress.Phase($"smoke {target.Label}: Ack + Sync");
        var syncClient = pool.Clients[0];
        if (!await syncClient.SendAckAsync(ids))
        {
            Fail(result, "Ack could not be sent: " + syncClient.LastError);
        }

        var sync = await syncClient.InvokeAsync("Sync", ids[0] - 1, 100, timeout);
        m["sync_items"] = sync.Items;
        if (!sync.Ok)
        {
            Fail(result, "Sync failed: " + sync.Error);
        }
        else if (sync.Items < Broadcasts || sync.MaxItemId < ids[^1])
        {
            Fail(result, $"Sync({ids[0] - 1}) returned {sync.Items} items up to id {sync.MaxItemId}, expected the {Broadcasts} broadcasts up to {ids[^1]}");
        }

        var closed = pool.Clients.Where(c => !c.IsOpen).ToList();
        if (closed.Count > 0)
        {
            Fail(result, $"{closed.Count} of {n} clients lost their connection ({closed[0].UserId}: {closed[0].LastError ?? "no error"})");
        }

        return Finish(result);
    }

    private static bool Has(HubClient c, long id)
    {
        var list = c.Ids;
        if (list is null)
        {
            return false;
        }

        lock (list)
        {
            return list.Contains(id);
        }
    }

    private static void Fail(RoundResult r, string why)
    {
        r.Passed = false;
        r.Notes.Add("FAIL: " + why);
    }

    private static RoundResult Finish(RoundResult r)
    {
        r.Metrics["passed"] = r.Passed ? 1 : 0;
        return r;
    }
}
