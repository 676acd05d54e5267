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
/// at the issue's 1M notifications; see <see cref="BulkSeeder"/>). Then, with N clients connected and broadcasts at
/// `rate`/s: `send-concurrency` readers in a closed loop (inbox page, sync page, unread count for random known users) →
/// reads/s; reads at `read-rate`/s in an open loop → p50/p99 of each read, the latency headline; sends at `rate`/s to one
/// user, then to everyone → send cost by audience size (ours only); then the same reads by one reader alone, for the
/// cost of one query at this size.
/// </summary>
public sealed class LargeStoreScenario : Scenario
{
    public override string Name => "S5";

    public override string Title => "large store: send cost, inbox, sync, unread count";

    private static int Connections(RunOptions o) => o.Connections ?? 1000;

    public override IReadOnlyList<MetricDef> Table(RunOptions o) =>
    [
        new("open_inbox_p50_ms", $"inbox page (20) p50, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_inbox_p99_ms", $"inbox page (20) p99, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_sync_p50_ms", $"sync page (100) p50, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_sync_p99_ms", $"sync page (100) p99, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_unread_p50_ms", $"unread count p50, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_unread_p99_ms", $"unread count p99, {o.ReadRate:F0} reads/s open loop", "ms", false),
        new("open_inbox_arrival_p99_ms", "inbox page p99 at the socket, open loop", "ms", false),
        new("open_sync_arrival_p99_ms", "sync page p99 at the socket, open loop", "ms", false),
        new("open_unread_arrival_p99_ms", "unread count p99 at the socket, open loop", "ms", false),
        new("broadcast_send_p50_ms", $"broadcast send API p50, {o.Rate:F0}/s (open-loop phase)", "ms", false),
        new("broadcast_send_p99_ms", $"broadcast send API p99, {o.Rate:F0}/s (open-loop phase)", "ms", false),
        new("delivery_p99_ms", $"broadcast → receipt p99 @{Connections(o)} (open-loop phase)", "ms", false),
        new("reads_per_s", $"reads/s, {o.SendConcurrency} readers closed loop", "/s", true),
        new("inbox_p99_ms", $"inbox page (20) p99, {o.SendConcurrency} readers closed loop (queueing)", "ms", false),
        new("sync_p99_ms", $"sync page (100) p99, {o.SendConcurrency} readers closed loop (queueing)", "ms", false),
        new("unread_p99_ms", $"unread count p99, {o.SendConcurrency} readers closed loop (queueing)", "ms", false),
        new("send_one_user_p50_ms", $"send to one user p50, {o.Rate:F0}/s", "ms", false),
        new("send_one_user_p99_ms", $"send to one user p99, {o.Rate:F0}/s", "ms", false),
        new("send_everyone_p50_ms", $"send to everyone ({o.SeedUsers} users) p50, {o.Rate:F0}/s", "ms", false),
        new("send_everyone_p99_ms", $"send to everyone ({o.SeedUsers} users) p99, {o.Rate:F0}/s", "ms", false),
        new("send_everyone_vs_one_user_p50", "send to everyone / to one user, p50", "×", false),
        new("send_everyone_vs_one_user_p99", "send to everyone / to one user, p99", "×", false),
        new("alone_inbox_p99_ms", "inbox page (20) p99, 1 reader, no broadcasts", "ms", false),
        new("alone_sync_p99_ms", "sync page (100) p99, 1 reader, no broadcasts", "ms", false),
        new("alone_unread_p99_ms", "unread count p99, 1 reader, no broadcasts", "ms", false),
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
            m["seed_read_all_steps"] = seeded.ReadAllSteps;
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

        var reads = new ReadPaths(Math.Max(0, head.Id - 1000));
        await using var pool = await ScenarioSetup.ConnectAsync(ctx, target, n, label, result, ct);
        await ClosedLoopReadsAsync(ctx, target, pool, reads, label, round, duration, result, ct);
        await OpenLoopReadsAsync(ctx, target, pool, reads, label, round, o.ReadDuration ?? duration, result, ct);
        if (!ReferenceEquals(target, o.Baseline))
        {
            await SendCostByAudienceAsync(ctx, target, label, round, duration, result, ct);
        }

        foreach (var kv in target.State)
        {
            m[kv.Key] = kv.Value;
        }

        await MeasureAloneAsync(ctx, target, reads, label, round, m, ct);
        ctx.Progress.Phase($"{label}: disconnect");
        return result;
    }

    /// <summary>
    /// Read throughput: `send-concurrency` readers in a closed loop (each starts its next read when the last one answered)
    /// while broadcasts go out at `rate`/s → reads/s. Their latency is mostly the queue they form (in flight ÷ throughput),
    /// so it is kept as closed_* / inbox_p99_ms …, and the open loop below gives the latency headline.
    /// </summary>
    private static async Task ClosedLoopReadsAsync(RunContext ctx, TargetSpec target, ClientPool pool, ReadPaths paths, string label,
        int round, double duration, RoundResult result, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var start = RunContext.Now;
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var delivery = pool.Context.NewLatencyWindow(recordAfter);
        var send = new Histogram();
        var histograms = ReadPaths.NewHistograms();
        var sends = new OutcomeTally(ctx.Counters);
        var readOutcomes = new OutcomeTally(ctx.Counters);
        long reads = 0;
        ServerSampler? sampler = null;
        ctx.Progress.Phase($"{label}: broadcasts {o.Rate:F0}/s + {o.SendConcurrency} readers, closed loop, for {duration:F0}s",
            () => $"reads {Interlocked.Read(ref reads)}, unread p99 {histograms[2].Percentile(99) / 1000.0:F1} ms");

        var broadcaster = BroadcastAsync(ctx, target, start, end, recordAfter, send, sends, ct);
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

                    if (now >= recordAfter && Volatile.Read(ref sampler) is null)
                    {
                        Interlocked.CompareExchange(ref sampler, new ServerSampler(target.Pids), null);
                    }

                    var kind = k % ReadPaths.Kinds.Length;
                    var (status, ticks, _) = await ctx.Api.CallAsync(HttpMethod.Get, target.Api, paths[kind], ctx.Minter.ForUser(rng.Next(o.SeedUsers)), ct);
                    if (status != 200)
                    {
                        readOutcomes.Fail($"GET {paths[kind]}: HTTP {status}");
                        continue;
                    }

                    readOutcomes.Succeeded();
                    if (now >= recordAfter)
                    {
                        histograms[kind].RecordTicks(ticks);
                        Interlocked.Increment(ref reads);
                    }
                }
            },
            ct)).ToList();

        await Task.WhenAll(readers);
        await broadcaster;
        sampler?.AddCpu(m);
        var measured = RunContext.Seconds(RunContext.Now - recordAfter);
        // The names the closed-loop read percentiles had before the open-loop phase existed: comparable with earlier runs.
        for (var kind = 0; kind < ReadPaths.Kinds.Length; kind++)
        {
            histograms[kind].AddSummaryMs(m, ReadPaths.Kinds[kind]);
        }

        send.AddSummaryMs(m, "closed_broadcast_send");
        delivery.AddSummaryMs(m, "closed_delivery");
        m["reads_per_s"] = reads / Math.Max(0.001, measured);
        m["read_errors"] = readOutcomes.Failed;
        m["closed_send_errors"] = sends.Failed;
        readOutcomes.Note(result, "closed-loop reads");
        sends.Note(result, "closed-loop phase: broadcasts");
    }

    /// <summary>
    /// Read latency, the headline: reads started on a schedule (`read-rate`/s in all, as a Poisson process; inbox, sync and
    /// unread count in turn; a known user each) whether or not earlier ones answered, while broadcasts go out at `rate`/s
    /// to the connected clients. The reads' gaps are random because a fixed read schedule keeps step with the broadcasts'
    /// (at 60 reads/s and 10 broadcasts/s every other inbox read was due the instant a broadcast was, every other sync
    /// read 17 ms and unread count 33 ms after one), which made the three kinds differ by their phase, not their cost.
    /// Latency runs from each read's scheduled start, so a server that falls behind shows it (no coordinated omission),
    /// and a few reads in flight do not turn into a queue of `send-concurrency` as in the closed loop.
    /// </summary>
    private static async Task OpenLoopReadsAsync(RunContext ctx, TargetSpec target, ClientPool pool, ReadPaths paths, string label,
        int round, double duration, RoundResult result, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var start = RunContext.Now + RunContext.TicksFromSeconds(0.1);
        var recordAfter = start + RunContext.TicksFromSeconds(o.Warmup);
        var end = recordAfter + RunContext.TicksFromSeconds(duration);
        var delivery = pool.Context.NewLatencyWindow(recordAfter);
        var send = new Histogram();
        var histograms = ReadPaths.NewHistograms();
        var arrivals = ReadPaths.NewHistograms();
        var sends = new OutcomeTally(ctx.Counters);
        var readOutcomes = new OutcomeTally(ctx.Counters);
        ServerSampler? sampler = null;
        ctx.Progress.Phase($"{label}: broadcasts {o.Rate:F0}/s + {o.ReadRate:F0} reads/s open loop for {duration:F0}s",
            () => $"inbox p99 {histograms[0].Percentile(99) / 1000.0:F1} ms, unread p99 {histograms[2].Percentile(99) / 1000.0:F1} ms");

        var broadcaster = BroadcastAsync(ctx, target, start, end, recordAfter, send, sends, ct);
        var readers = OpenLoop.RunAsync(o.ReadRate, start, end, async (seq, due) =>
        {
            if (due >= recordAfter && Volatile.Read(ref sampler) is null)
            {
                Interlocked.CompareExchange(ref sampler, new ServerSampler(target.Pids), null);
            }

            var kind = (int)(seq % ReadPaths.Kinds.Length);
            // A known user per read, spread by the seed's hash: thread-safe and the same in every run.
            var user = SeedShape.UserOf(seq + (round * 1_000_003L), o.SeedUsers);
            var (status, _, arrivedAt) = await ctx.Api.GetAsync(target.Api, paths[kind], ctx.Minter.ForUser(user), ct);
            var latency = RunContext.Now - due;
            if (status != 200)
            {
                readOutcomes.Fail($"GET {paths[kind]}: HTTP {status}");
                return;
            }

            readOutcomes.Succeeded();
            if (due >= recordAfter)
            {
                histograms[kind].RecordTicks(latency);
                if (arrivedAt > 0)
                {
                    arrivals[kind].RecordTicks(Math.Max(0, arrivedAt - due));
                }
            }
        }, ct, new Random(unchecked((round * 7919) + 17)));

        await readers;
        await broadcaster;
        sampler?.AddCpu(m, "@open");
        var measured = RunContext.Seconds(RunContext.Now - recordAfter);
        for (var kind = 0; kind < ReadPaths.Kinds.Length; kind++)
        {
            histograms[kind].AddSummaryMs(m, "open_" + ReadPaths.Kinds[kind]);
            if (arrivals[kind].Count > 0)
            {
                arrivals[kind].AddSummaryMs(m, "open_" + ReadPaths.Kinds[kind] + "_arrival");
            }
        }

        send.AddSummaryMs(m, "broadcast_send");
        delivery.AddSummaryMs(m, "delivery");
        m["open_read_rate"] = o.ReadRate;
        m["open_reads_per_s"] = histograms.Sum(h => h.Count) / Math.Max(0.001, measured);
        m["open_read_errors"] = readOutcomes.Failed;
        m["send_errors"] = sends.Failed;
        readOutcomes.Note(result, "open-loop reads");
        sends.Note(result, "open-loop phase: broadcasts");
    }

    /// <summary>
    /// Send cost by audience size: sends at `rate`/s in an open loop (no readers), first each to one known user, then each
    /// to everyone (every seeded user), with the connected clients receiving them. A broadcast is stored as one row
    /// whatever its audience, so the two should cost about the same. Latency from each send's scheduled start to its 201.
    /// </summary>
    private static async Task SendCostByAudienceAsync(RunContext ctx, TargetSpec target, string label, int round, double duration,
        RoundResult result, CancellationToken ct)
    {
        var o = ctx.Options;
        var m = result.Metrics;
        var seconds = Math.Max(3, duration / 2);
        foreach (var (name, everyone) in new[] { ("one_user", false), ("everyone", true) })
        {
            var start = RunContext.Now + RunContext.TicksFromSeconds(0.1);
            var recordAfter = start + RunContext.TicksFromSeconds(Math.Min(o.Warmup, 1));
            var end = recordAfter + RunContext.TicksFromSeconds(seconds);
            var latency = new Histogram();
            var sends = new OutcomeTally(ctx.Counters);
            ctx.Progress.Phase($"{label}: sends to {(everyone ? "everyone" : "one user")}, {o.Rate:F0}/s open loop for {seconds:F0}s",
                () => $"p99 {latency.Percentile(99) / 1000.0:F1} ms");
            await OpenLoop.RunAsync(o.Rate, start, end, async (seq, due) =>
            {
                var audience = everyone
                    ? SendAudience.All
                    : SendAudience.User(Auth.JwtMinter.UserId(SeedShape.UserOf(seq + (round * 7_000_003L), o.SeedUsers)));
                var r = await ctx.Api.SendAsync(target.Api, audience, due, seq, ct);
                var ticks = RunContext.Now - due;
                if (sends.Add(r) && due >= recordAfter)
                {
                    latency.RecordTicks(ticks);
                }
            }, ct);

            latency.AddSummaryMs(m, "send_" + name);
            m[$"send_{name}_errors"] = sends.Failed;
            sends.Note(result, $"sends to {(everyone ? "everyone" : "one user")}");
        }

        foreach (var p in new[] { "p50", "p99" })
        {
            var one = m[$"send_one_user_{p}_ms"];
            m[$"send_everyone_vs_one_user_{p}"] = one > 0 ? m[$"send_everyone_{p}_ms"] / one : double.NaN;
        }
    }

    /// <summary>Broadcasts at `rate`/s in an open loop over [start, end), each stamped with its scheduled time.</summary>
    private static Task BroadcastAsync(RunContext ctx, TargetSpec target, long start, long end, long recordAfter, Histogram send,
        OutcomeTally sends, CancellationToken ct) =>
        OpenLoop.RunAsync(ctx.Options.Rate, start, end, async (seq, due) =>
        {
            var r = await ctx.Api.SendAsync(target.Api, SendAudience.All, due, seq, ct);
            if (sends.Add(r) && due >= recordAfter)
            {
                send.RecordTicks(r.Ticks);
            }
        }, ct);

    /// <summary>
    /// The same reads by one reader with nothing else running: what one query costs at this store size.
    /// </summary>
    private static async Task MeasureAloneAsync(RunContext ctx, TargetSpec target, ReadPaths paths, string label, int round,
        Dictionary<string, double> m, CancellationToken ct)
    {
        var o = ctx.Options;
        var histograms = ReadPaths.NewHistograms();
        var rng = new Random(unchecked(round * 7907));
        var end = RunContext.Now + RunContext.TicksFromSeconds(Math.Max(3, (o.Duration ?? 15) / 2));
        ctx.Progress.Phase($"{label}: one reader alone", () => $"unread p99 {histograms[2].Percentile(99) / 1000.0:F1} ms");
        for (var k = 0; RunContext.Now < end && !ct.IsCancellationRequested; k++)
        {
            var kind = k % ReadPaths.Kinds.Length;
            var (status, ticks, _) = await ctx.Api.CallAsync(HttpMethod.Get, target.Api, paths[kind], ctx.Minter.ForUser(rng.Next(o.SeedUsers)), ct);
            if (status == 200)
            {
                histograms[kind].RecordTicks(ticks);
            }
        }

        for (var kind = 0; kind < ReadPaths.Kinds.Length; kind++)
        {
            histograms[kind].AddSummaryMs(m, "alone_" + ReadPaths.Kinds[kind]);
        }
    }

    /// <summary>The three reads S5 measures, in turn: an inbox page of 20, a sync page of 100 near the head, the unread count.</summary>
    private sealed class ReadPaths(long syncAfter)
    {
        public static readonly string[] Kinds = ["inbox", "sync", "unread"];

        private readonly string[] _paths =
        [
            "api/notifications?limit=20",
            "api/notifications/sync?after=" + syncAfter.ToString(CultureInfo.InvariantCulture) + "&limit=100",
            "api/notifications/unread-count",
        ];

        public string this[int kind] => _paths[kind];

        public static Histogram[] NewHistograms() => [new(), new(), new()];
    }
}
