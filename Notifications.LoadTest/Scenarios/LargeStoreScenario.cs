using System.Globalization;
using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;
using Notifications.LoadTest.Seeding;

namespace Notifications.LoadTest.Scenarios;

/// <summary>
/// S5: a large store. Seeding (once per target, through the public API): `seed-notifications` sends (10 % to everyone,
/// 90 % to one of `seed-users` users), with every user making one call halfway (even users read-all, odd users fetch
/// their unread count) so all of them are known and half have a read watermark (<see cref="SeedShape"/>). With
/// `--seed-db`, the target's database is written directly with set-based SQL instead (the same rows, minutes faster
/// at the 1M notifications; see <see cref="BulkSeeder"/>). Then, with N clients connected:
/// broadcasts at `rate`/s (send cost, delivery latency) while `send-concurrency` readers page inboxes, sync and
/// count unread for random known users → p50/p99 of each; then the same reads by one reader alone, for the cost of one
/// query at this size.
/// </summary>
public sealed class LargeStoreScenario : Scenario
{
    public override string Name => "S5";

    public override string Title => "large store: send cost, inbox, sync, unread count";

    private static int Connections(RunOptions o) => o.Connections ?? 1000;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("broadcast_send_p50_ms", "broadcast send API p50", "ms", false),
        new("broadcast_send_p99_ms", "broadcast send API p99", "ms", false),
        new("delivery_p99_ms", $"broadcast → receipt p99 @{Connections(o)}", "ms", false),
        new("inbox_p99_ms", "inbox page (20) p99", "ms", false),
        new("sync_p99_ms", "sync page (100) p99", "ms", false),
        new("unread_p99_ms", "unread-count p99", "ms", false),
        new("reads_per_s", $"reads/s ({o.SendConcurrency} concurrent)", "/s", true),
        new("alone_inbox_p99_ms", "inbox page (20) p99, 1 reader, no broadcasts", "ms", false),
        new("alone_sync_p99_ms", "sync page (100) p99, 1 reader, no broadcasts", "ms", false),
        new("alone_unread_p99_ms", "unread-count p99, 1 reader, no broadcasts", "ms", false),
        new("seed_sends_per_s", "seeding through the API: persisted sends/s (no clients)", "/s", true),
        .. o.SeedDb is null ? Array.Empty<MetricDef>() : [new MetricDef("seed_rows_per_s", $"seeding by bulk SQL ({o.SeedDb}): rows/s", "/s", true)],
    ];

    public override async Task<RoundResult?> PrepareAsync(RunContext ctx, TargetSpec target, CancellationToken ct)
    {
        var o = ctx.Options;
        if (o.SkipSeed || o.SeedNotifications == 0)
        {
            return null;
        }

        // --seed-db names the target's database; a baseline (in-memory) is always seeded through its API.
        return o.SeedDb is not null && ReferenceEquals(target, o.Target)
            ? await BulkSeedAsync(ctx, target, ct)
            : await ApiSeedAsync(ctx, target, ct);
    }

    /// <summary>Writes the store with set-based SQL (see <see cref="BulkSeeder"/>); the seed metric is rows/s.</summary>
    private static async Task<RoundResult> BulkSeedAsync(RunContext ctx, TargetSpec target, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var shape = new SeedShape(o.SeedNotifications, o.SeedUsers, ctx.Api.PayloadBytes);
        var seeder = BulkSeeder.Create(o.SeedDb!, o.SeedConnection!);
        var targeted = shape.Notifications - ((shape.Notifications + 9) / 10);
        var expected = (long)shape.Notifications + targeted + ((shape.Users + 1) / 2);
        ctx.Progress.Phase($"S5 {target.Label} seed: bulk SQL into {seeder.Provider}, {shape.Notifications} notifications, {shape.Users} users",
            () => $"rows {seeder.Written}/{expected}");
        var t0 = RunContext.Now;
        try
        {
            var seeded = await seeder.SeedAsync(shape, ct);
            target.State["s5_max_id"] = seeded.MaxId;
            m["seed_rows_per_s"] = seeded.RowsPerSecond;
            m["seed_rows"] = seeded.Rows;
            m["seed_notifications"] = seeded.Notifications;
            m["seed_audience_rows"] = seeded.AudienceRows;
            m["seed_watermarks"] = seeded.Watermarks;
            m["seed_first_id"] = seeded.FirstId;
            m["seed_last_id"] = seeded.LastId;
            m["seed_insert_seconds"] = seeded.InsertSeconds;
            m["seed_maintenance_seconds"] = seeded.MaintenanceSeconds;
            m["seed_seconds"] = RunContext.Seconds(RunContext.Now - t0);
            ctx.Log(string.Create(CultureInfo.InvariantCulture,
                $"S5 {target.Label}: bulk-seeded {seeded.Rows} rows (ids {seeded.FirstId}…{seeded.LastId}) in {seeded.InsertSeconds:F1} s " +
                $"({seeded.RowsPerSecond:F0} rows/s), then {seeded.MaintenanceSeconds:F1} s of {seeder.Provider} upkeep"));
        }
        catch (Exception ex) when (ex is System.Data.Common.DbException or InvalidOperationException)
        {
            // Not seeded as asked: the rounds would measure another store, so the run fails.
            result.Passed = false;
            result.Notes.Add($"bulk seed into {seeder.Provider} failed: {ex.GetType().Name}: {ex.Message}");
            ctx.Log($"error: S5 {target.Label}: bulk seed into {seeder.Provider} failed: {ex.Message}");
        }

        return result;
    }

    private static async Task<RoundResult> ApiSeedAsync(RunContext ctx, TargetSpec target, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var total = o.SeedNotifications;
        var users = o.SeedUsers;
        var sends = new OutcomeTally(ctx.Counters);
        long maxId = 0;
        var label = $"S5 {target.Label} seed";
        var options = new ParallelOptions { MaxDegreeOfParallelism = o.SeedConcurrency, CancellationToken = ct };

        async Task SendRange(int from, int to)
        {
            await Parallel.ForEachAsync(Enumerable.Range(from, to - from), options, async (i, token) =>
            {
                var audience = SeedShape.IsBroadcast(i)
                    ? SendAudience.All
                    : SendAudience.User(Auth.JwtMinter.UserId(SeedShape.UserOf(i, users)));
                var r = await ctx.Api.SendAsync(target.Api, audience, 0, i, token);
                if (sends.Add(r))
                {
                    Atomic.Max(ref maxId, r.Id);
                }
                else if (r.Status == 429)
                {
                    await Task.Delay(TimeSpan.FromSeconds(Math.Max(0.1, r.RetryAfterSeconds)), token);
                }
            });
        }

        ctx.Progress.Phase($"{label}: {total} notifications, {users} users", () => $"seeded {sends.Ok}/{total}");
        var t0 = RunContext.Now;
        await SendRange(0, total / 2);
        var sendSeconds = RunContext.Seconds(RunContext.Now - t0);

        long userCalls = 0, userFailed = 0;
        ctx.Progress.Phase($"{label}: {users} users make themselves known", () => $"users {Interlocked.Read(ref userCalls)}/{users}");
        var t1 = RunContext.Now;
        await Parallel.ForEachAsync(Enumerable.Range(0, users), options, async (u, token) =>
        {
            var tokenText = ctx.Minter.ForUser(u);
            var (status, _, _) = u % 2 == 0
                ? await ctx.Api.CallAsync(HttpMethod.Post, target.Api, "api/notifications/read-all", tokenText, token)
                : await ctx.Api.CallAsync(HttpMethod.Get, target.Api, "api/notifications/unread-count", tokenText, token);
            Interlocked.Increment(ref userCalls);
            if (status is < 200 or >= 300)
            {
                Interlocked.Increment(ref userFailed);
            }
        });
        var userSeconds = RunContext.Seconds(RunContext.Now - t1);

        ctx.Progress.Phase($"{label}: second half", () => $"seeded {sends.Ok}/{total}");
        var t2 = RunContext.Now;
        await SendRange(total / 2, total);
        sendSeconds += RunContext.Seconds(RunContext.Now - t2);

        target.State["s5_max_id"] = Interlocked.Read(ref maxId);
        m["seed_sends_per_s"] = sends.Ok / Math.Max(0.001, sendSeconds);
        m["seed_notifications"] = sends.Ok;
        m["seed_failed"] = sends.Failed;
        m["seed_user_calls_per_s"] = userCalls / Math.Max(0.001, userSeconds);
        m["seed_user_calls_failed"] = userFailed;
        m["seed_seconds"] = RunContext.Seconds(RunContext.Now - t0);
        sends.Note(result, "seed: sends");
        if (userFailed > 0)
        {
            result.Notes.Add($"seed: {userFailed} user calls failed");
        }

        return result;
    }

    public override async Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct)
    {
        var o = ctx.Options;
        var result = new RoundResult();
        var m = result.Metrics;
        var n = ctx.CapConnections(Connections(o));
        var users = o.SeedUsers;
        var duration = o.Duration ?? 15;
        var label = $"S5 {target.Label} r{round}";

        // The newest id tells the sync readers where "recent" is (also when seeding was skipped).
        var head = await ctx.Api.SendAsync(target.Api, SendAudience.All, 0, -1, ct);
        if (!head.Created)
        {
            result.Notes.Add("head broadcast failed: " + head.Error);
            result.Passed = false;
            return result;
        }

        var syncAfter = Math.Max(0, head.Id - 1000).ToString(CultureInfo.InvariantCulture);
        await using var pool = await ScenarioSetup.ConnectAsync(ctx, target, n, label, result, ct);
        var start = RunContext.Now;
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var delivery = pool.Context.NewLatencyWindow(recordAfter);
        var send = new Histogram();
        var inbox = new Histogram();
        var sync = new Histogram();
        var unread = new Histogram();
        var sends = new OutcomeTally(ctx.Counters);
        var readOutcomes = new OutcomeTally(ctx.Counters);
        long reads = 0;
        ServerSampler? sampler = null;
        ctx.Progress.Phase($"{label}: broadcasts {o.Rate:F0}/s + {o.SendConcurrency} readers for {duration:F0}s",
            () => $"inbox p99 {inbox.Percentile(99) / 1000.0:F1} ms, unread p99 {unread.Percentile(99) / 1000.0:F1} ms");

        var broadcaster = OpenLoop.RunAsync(o.Rate, start, end, async (seq, due) =>
        {
            var r = await ctx.Api.SendAsync(target.Api, SendAudience.All, due, seq, ct);
            if (sends.Add(r) && due >= recordAfter)
            {
                send.RecordTicks(r.Ticks);
            }
        }, ct);

        var readers = Enumerable.Range(0, o.SendConcurrency).Select(w => Task.Run(
            async () =>
            {
                var rng = new Random(unchecked((round * 104729) + w));
                for (var k = w; ; k++)
                {
                    var now = RunContext.Now;
                    if (now >= end || ct.IsCancellationRequested)
                    {
                        return;
                    }

                    if (sampler is null && now >= recordAfter)
                    {
                        sampler = new ServerSampler(target.Pids);
                    }

                    var token = ctx.Minter.ForUser(rng.Next(users));
                    var (path, histogram) = (k % 3) switch
                    {
                        0 => ("api/notifications?limit=20", inbox),
                        1 => ("api/notifications/sync?after=" + syncAfter + "&limit=100", sync),
                        _ => ("api/notifications/unread-count", unread),
                    };
                    var (status, ticks, _) = await ctx.Api.CallAsync(HttpMethod.Get, target.Api, path, token, ct);
                    if (status != 200)
                    {
                        readOutcomes.Fail($"GET {path}: HTTP {status}");
                        continue;
                    }

                    readOutcomes.Succeeded();

                    if (now >= recordAfter)
                    {
                        histogram.RecordTicks(ticks);
                        Interlocked.Increment(ref reads);
                    }
                }
            },
            ct)).ToList();

        await Task.WhenAll(readers);
        await broadcaster;
        sampler?.AddCpu(m);
        var measured = RunContext.Seconds(RunContext.Now - recordAfter);

        foreach (var (name, h) in new[] { ("broadcast_send", send), ("inbox", inbox), ("sync", sync), ("unread", unread), ("delivery", delivery) })
        {
            foreach (var kv in h.SummaryMs(name))
            {
                m[kv.Key] = kv.Value;
            }
        }

        m["reads_per_s"] = reads / Math.Max(0.001, measured);
        m["read_errors"] = readOutcomes.Failed;
        m["send_errors"] = sends.Failed;
        foreach (var kv in target.State)
        {
            m[kv.Key] = kv.Value;
        }

        readOutcomes.Note(result, "reads");
        sends.Note(result, "broadcasts");

        await MeasureAloneAsync(ctx, target, label, syncAfter, round, m, ct);
        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }

    /// <summary>
    /// The same reads by one reader with nothing else running: what one query costs at this store size. Under the
    /// concurrent readers above, a closed loop's latency is mostly the queue (in flight ÷ throughput).
    /// </summary>
    private static async Task MeasureAloneAsync(RunContext ctx, TargetSpec target, string label, string syncAfter, int round, Dictionary<string, double> m, CancellationToken ct)
    {
        var o = ctx.Options;
        var histograms = new[] { new Histogram(), new Histogram(), new Histogram() };
        var paths = new[] { "api/notifications?limit=20", "api/notifications/sync?after=" + syncAfter + "&limit=100", "api/notifications/unread-count" };
        var rng = new Random(unchecked(round * 7907));
        var end = RunContext.Now + RunContext.TicksFromSeconds(Math.Max(3, (o.Duration ?? 15) / 2));
        ctx.Progress.Phase($"{label}: one reader alone", () => $"unread p99 {histograms[2].Percentile(99) / 1000.0:F1} ms");
        for (var k = 0; RunContext.Now < end && !ct.IsCancellationRequested; k++)
        {
            var token = ctx.Minter.ForUser(rng.Next(o.SeedUsers));
            var (status, ticks, _) = await ctx.Api.CallAsync(HttpMethod.Get, target.Api, paths[k % 3], token, ct);
            if (status == 200)
            {
                histograms[k % 3].RecordTicks(ticks);
            }
        }

        foreach (var (name, h) in new[] { ("alone_inbox", histograms[0]), ("alone_sync", histograms[1]), ("alone_unread", histograms[2]) })
        {
            foreach (var kv in h.SummaryMs(name))
            {
                m[kv.Key] = kv.Value;
            }
        }
    }
}
