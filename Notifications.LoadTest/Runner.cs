using System.Globalization;
using System.Runtime.InteropServices;
using Notifications.LoadTest.Auth;
using Notifications.LoadTest.Cli;
using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;
using Notifications.LoadTest.Report;
using Notifications.LoadTest.Scenarios;
using Notifications.LoadTest.Servers;

namespace Notifications.LoadTest;

/// <summary>`run`: starts or targets the servers, runs each scenario in interleaved A/B rounds, prints and writes results.</summary>
internal static class Runner
{
    public static async Task<int> RunAsync(CliArgs args)
    {
        var o = RunOptions.Parse(args);
        var startServer = args.Get("start-server");
        var startBaseline = args.Flag("start-baseline");
        var serverEnv = args.GetAll("server-env");
        var baselineEnv = args.GetAll("baseline-env");
        var noWarmup = args.Flag("no-warmup");
        var logDir = args.Get("log-dir") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(o.Out ?? "results.json")) ?? ".", "logs");
        var targets = new List<TargetSpec> { o.Target };
        if (o.Baseline is not null)
        {
            targets.Add(o.Baseline);
        }
        else if (startBaseline)
        {
            throw new ArgumentException("--start-baseline needs --baseline URL (e.g. http://127.0.0.1:5081)");
        }

        foreach (var unknown in args.Unused())
        {
            Console.Error.WriteLine($"warning: unknown option --{unknown}");
        }

        // Ctrl+C and SIGTERM (kill, a timeout, a CI runner) take the cancellation path: the scenario stops and disposing
        // the launcher stops the servers this tool started. A second signal kills them at once and exits. (SIGHUP is left
        // alone, so that `nohup` keeps working.)
        await using var launcher = new ServerLauncher(logDir);
        using var cts = new CancellationTokenSource();
        var exitSignal = 0;
        void OnSignal(PosixSignalContext signal)
        {
            if (Interlocked.CompareExchange(ref exitSignal, SignalNumber(signal.Signal), 0) == 0)
            {
                signal.Cancel = true;
                cts.Cancel();
            }
            else
            {
                launcher.KillAll();
            }
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        var ct = cts.Token;

        var counters = new LiveCounters();
        await using var progress = new Progress(counters, !o.Quiet);
        var minter = new JwtMinter(o.TokenKey, o.Issuer, o.Audience, TimeSpan.FromHours(4));
        using var api = new SendApi(minter, o.PayloadBytes);
        var ctx = new RunContext(o, minter, api, counters, progress);

        var report = new RunReport
        {
            StartedAt = DateTimeOffset.UtcNow,
            Options = new Dictionary<string, object?>
            {
                ["scenarios"] = o.Scenarios,
                ["protocol"] = o.Protocol.Name(),
                ["rounds"] = o.Rounds,
                ["duration"] = o.Duration,
                ["connections"] = o.Connections,
                ["levels"] = o.Levels,
                ["rate"] = o.Rate,
                ["readRate"] = o.ReadRate,
                ["readDuration"] = o.ReadDuration,
                ["window"] = o.Window,
                ["concurrency"] = o.ConnectConcurrency,
                ["sendConcurrency"] = o.SendConcurrency,
                ["payloadBytes"] = o.PayloadBytes,
                ["spreadSources"] = o.SpreadSources,
                ["seedNotifications"] = o.SeedNotifications,
                ["seedUsers"] = o.SeedUsers,
                ["args"] = Environment.GetCommandLineArgs().Skip(1).ToArray(),
            },
        };
        RedactKey(report.Options, o.TokenKey);

        try
        {
            if (startServer is not null)
            {
                var env = WithSettings(new Dictionary<string, string>(StringComparer.Ordinal) { ["ASPNETCORE_URLS"] = o.Target.Urls[0] }, serverEnv);
                o.Target.Pids.Clear();
                o.Target.Pids.Add(await launcher.StartAsync(o.Target.Label, startServer, env, new Uri(o.Target.Urls[0].TrimEnd('/') + "/"), api, progress.Log, ct));
            }

            if (startBaseline && o.Baseline is not null)
            {
                var uri = new Uri(o.Baseline.Urls[0].TrimEnd('/') + "/");
                var command = ServerLauncher.SelfCommand() + " baseline --host " + uri.Host + " --port " + uri.Port.ToString(CultureInfo.InvariantCulture);
                // Server GC, as an ASP.NET Core app gets by default (the tool itself is a console app on workstation GC).
                var env = WithSettings(new Dictionary<string, string>(StringComparer.Ordinal) { ["DOTNET_gcServer"] = "1" }, baselineEnv);
                o.Baseline.Pids.Clear();
                o.Baseline.Pids.Add(await launcher.StartAsync(o.Baseline.Label, command, env, uri, api, progress.Log, ct));
            }

            foreach (var t in targets)
            {
                foreach (var url in t.Urls)
                {
                    t.Endpoints.Add(await HubEndpoint.ResolveAsync(url, o.HubPath));
                }

                if (t.Pids.Count == 0)
                {
                    foreach (var ep in t.Endpoints.Where(e => e.IsLoopback))
                    {
                        if (ProcStats.PidListeningOn(ep.Port) is { } pid)
                        {
                            t.Pids.Add(pid);
                        }
                    }

                    if (t.Pids.Count != t.Endpoints.Count)
                    {
                        t.Pids.Clear();
                        progress.Log($"note: process of {t.Label} not found (pass --{(t == o.Target ? "target" : "baseline")}-pid); server RSS/CPU will be n/a");
                    }
                }

                progress.Log($"{t.Label}: {string.Join(", ", t.Endpoints)} pid {(t.Pids.Count > 0 ? string.Join(",", t.Pids) : "?")}, hub protocol {o.Protocol.Name()}");
            }

            if (report.Machine.TryGetValue("loadAverage", out var load) && load is string[] l &&
                double.TryParse(l[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var load1) && load1 > Environment.ProcessorCount / 2.0)
            {
                progress.Log($"warning: load average {l[0]} on {Environment.ProcessorCount} cores: other work will distort the numbers");
            }

            var exit = 0;
            var used = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in o.Scenarios)
            {
                var scenario = Scenario.Create(name);
                var sr = new ScenarioReport { Scenario = scenario.Name, Title = scenario.Title };
                sr.Targets.AddRange(targets.Select(t => new TargetInfo(t.Label, t.Urls, t.Pids.ToArray())));
                report.Scenarios.Add(sr);

                foreach (var t in targets)
                {
                    var prepared = await scenario.PrepareAsync(ctx, t, ct);
                    if (prepared is not null)
                    {
                        sr.Prepare.Add(RoundEntry.From(0, t.Label, prepared));
                    }
                }

                var rounds = scenario.SingleRound ? 1 : o.Rounds;
                var warned = false;
                for (var round = 1; round <= rounds; round++)
                {
                    // A B, B A, A B…: a box that speeds up or slows down over a run (JIT, GC tuning, neighbours) then
                    // favours neither side, where A B, A B would always measure A first.
                    foreach (var t in round % 2 == 1 ? targets : Enumerable.Reverse(targets))
                    {
                        if (scenario.FreshServerPerRound && used.Contains(t.Label))
                        {
                            if (launcher.CanRestart(t.Label))
                            {
                                progress.Phase($"{scenario.Name}: restarting {t.Label} for a fresh heap");
                                var pid = await launcher.RestartAsync(t.Label, api, progress.Log, ct);
                                t.Pids.Clear();
                                t.Pids.Add(pid);
                                await Warmup.RunAsync(ctx, t, noWarmup ? 0 : scenario.WarmupConnections, 0, ct);
                            }
                            else if (!warned)
                            {
                                warned = true;
                                progress.Log($"warning: {scenario.Name} wants a fresh server per round (a .NET server keeps its heap high-water " +
                                    "mark); servers not started by this tool are reused, so later rounds measure memory reuse. Use " +
                                    "--start-server/--start-baseline, or --rounds 1 on freshly started servers.");
                            }
                        }
                        else if (round == 1 && !noWarmup)
                        {
                            await Warmup.RunAsync(ctx, t, scenario.WarmupConnections, scenario.WarmupBroadcastConnections(o), ct);
                        }

                        used.Add(t.Label);
                        ResetCounters(counters);
                        var result = await scenario.RunAsync(ctx, t, round, ct);
                        sr.Rounds.Add(RoundEntry.From(round, t.Label, result));
                        if (o.Cooldown > 0 && !scenario.SingleRound)
                        {
                            progress.Phase($"{scenario.Name}: cooldown");
                            await Task.Delay(TimeSpan.FromSeconds(o.Cooldown), ct);
                        }
                    }
                }

                Reporter.Summarize(sr, scenario, o);
                var table = Reporter.Table(sr, rounds, o.Protocol.Name());
                progress.Log(string.Empty);
                Console.Out.WriteLine(table);
                Console.Out.Flush();
                if (!sr.Passed)
                {
                    exit = 1;
                }
            }

            report.FinishedAt = DateTimeOffset.UtcNow;
            if (o.Out is not null)
            {
                await Reporter.WriteJsonAsync(report, o.Out);
                progress.Log($"results written to {o.Out}");
            }

            return exit;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            progress.Log("cancelled");
            if (o.Out is not null)
            {
                report.FinishedAt = DateTimeOffset.UtcNow;
                await Reporter.WriteJsonAsync(report, o.Out);
            }

            return 128 + Volatile.Read(ref exitSignal);
        }
    }

    private static int SignalNumber(PosixSignal signal) => signal == PosixSignal.SIGINT ? 2 : 15;

    private static void ResetCounters(LiveCounters c)
    {
        Interlocked.Exchange(ref c.Sent, 0);
        Interlocked.Exchange(ref c.Errors, 0);
        Interlocked.Exchange(ref c.Deliveries, 0);
        Interlocked.Exchange(ref c.Drops, 0);
    }

    /// <summary>The results file records the command line: not the signing key, a seeding connection string or a password.</summary>
    private static void RedactKey(Dictionary<string, object?> options, string key)
    {
        if (options["args"] is string[] a)
        {
            options["args"] = a.Select((x, i) =>
                (key.Length > 0 && x.Contains(key, StringComparison.Ordinal))
                || (i > 0 && a[i - 1] == "--seed-connection")
                || x.Contains("password=", StringComparison.OrdinalIgnoreCase)
                    ? "***"
                    : x).ToArray();
        }
    }

    /// <summary>Adds <c>K=V</c> settings (--server-env, --baseline-env) over <paramref name="env"/>; later ones win.</summary>
    private static Dictionary<string, string> WithSettings(Dictionary<string, string> env, IEnumerable<string> settings)
    {
        foreach (var kv in settings)
        {
            var eq = kv.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                env[kv[..eq]] = kv[(eq + 1)..];
            }
        }

        return env;
    }
}
