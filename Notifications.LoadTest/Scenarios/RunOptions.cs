using Notifications.LoadTest.Cli;
using Notifications.LoadTest.Client;

namespace Notifications.LoadTest.Scenarios;

/// <summary>A server (or several instances of one) under test, with a label for the report.</summary>
public sealed class TargetSpec(string label, IReadOnlyList<string> urls)
{
    public string Label { get; } = label;

    public IReadOnlyList<string> Urls { get; } = urls;

    public List<int> Pids { get; } = [];

    public List<HubEndpoint> Endpoints { get; } = [];

    /// <summary>Per-target state kept between prepare and rounds (e.g. the highest seeded id).</summary>
    public Dictionary<string, double> State { get; } = new(StringComparer.Ordinal);

    public HubEndpoint Api => Endpoints[0];

    public override string ToString() => Label + " (" + string.Join(", ", Urls) + ")";
}

/// <summary>Options of `run`, parsed once. Scenario defaults apply where a value is null.</summary>
public sealed class RunOptions
{
    public required IReadOnlyList<string> Scenarios { get; init; }

    public required TargetSpec Target { get; init; }

    public TargetSpec? Baseline { get; init; }

    public required string TokenKey { get; init; }

    public required string Issuer { get; init; }

    public required string Audience { get; init; }

    public int Rounds { get; init; } = 2;

    public double? Duration { get; init; }

    public double Warmup { get; init; } = 2;

    /// <summary>Seconds of mixed load before a target's first measured round, so tiered JIT has finished on both sides.</summary>
    public double JitWarmup { get; init; } = 20;

    /// <summary>
    /// The mixed load goes on past <see cref="JitWarmup"/> while the server's tiered compilation thread stays busy (when
    /// its pid is known, on Linux), up to this many seconds in all.
    /// </summary>
    public double JitWarmupMax { get; init; } = 120;

    /// <summary>
    /// S3, S6: seconds of windowed broadcasts to the scenario's first level of connections in the warm-up, before its
    /// mixed load: the paths a broadcast burst takes (several pushes in one write, a full Redis stream) get compiled
    /// and the GC sizes itself for them before the first measured round rather than during it.
    /// </summary>
    public double BroadcastWarmup { get; init; } = 10;

    public double Settle { get; init; } = 3;

    public double Cooldown { get; init; } = 2;

    public int? Connections { get; init; }

    public IReadOnlyList<int>? Levels { get; init; }

    public double Rate { get; init; } = 10;

    /// <summary>S5: reads per second (all kinds together) of the open-loop read phase.</summary>
    public double ReadRate { get; init; } = 60;

    /// <summary>
    /// S5: seconds of the open-loop read phase (default: the round's duration). A p99 needs a few hundred reads of each
    /// kind: at 60 reads/s in three kinds, 10 s gives about 200 and its p99 is the second-highest read.
    /// </summary>
    public double? ReadDuration { get; init; }

    public int LatencyConnections { get; init; } = 1000;

    public int Window { get; init; } = 4;

    public int ConnectConcurrency { get; init; } = 200;

    public int SendConcurrency { get; init; } = 16;

    /// <summary>S4: sends per second of the open-loop phase after the closed loop (0: no such phase).</summary>
    public double SendRate { get; init; }

    public double ConnectTimeout { get; init; } = 30;

    public int ConnectRetries { get; init; } = 2;

    public int PayloadBytes { get; init; } = 200;

    public int SpreadSources { get; init; }

    public string HubPath { get; init; } = "/hubs/notifications";

    /// <summary>The SignalR hub protocol of every client (--protocol json|messagepack).</summary>
    public HubProtocolKind Protocol { get; init; }

    public int SeedNotifications { get; init; } = 1_000_000;

    public int SeedUsers { get; init; } = 100_000;

    public int SeedConcurrency { get; init; } = 64;

    public bool SkipSeed { get; init; }

    /// <summary>S5: bulk-seed the target's database ("postgres" or "sqlite") instead of sending through its API.</summary>
    public string? SeedDb { get; init; }

    /// <summary>S5: connection string of the target's database, for <see cref="SeedDb"/>.</summary>
    public string? SeedConnection { get; init; }

    public int Missed { get; init; } = 3;

    public double PingSeconds { get; init; } = 15;

    public string? Out { get; init; }

    public bool Quiet { get; init; }

    public static RunOptions Parse(CliArgs a)
    {
        var target = a.GetList("target");
        if (target.Count == 0)
        {
            throw new ArgumentException("--target URL is required (comma separated for several instances)");
        }

        var scenarios = a.GetList("scenario");
        if (scenarios.Count == 0)
        {
            throw new ArgumentException("--scenario S1|S2|S3|S4|S5|S6|smoke (comma separated for several) is required");
        }

        var known = new[] { "S1", "S2", "S3", "S4", "S5", "S6", "SMOKE" };
        foreach (var name in scenarios)
        {
            if (!known.Contains(name.ToUpperInvariant()))
            {
                throw new ArgumentException($"unknown scenario '{name}' (S1..S6, smoke)");
            }
        }

        var t = new TargetSpec(a.Get("target-label", "ours"), target);
        t.Pids.AddRange(a.GetIntList("target-pid", [], 1));
        TargetSpec? b = null;
        var baseline = a.GetList("baseline");
        if (baseline.Count > 0)
        {
            b = new TargetSpec(a.Get("baseline-label", "baseline"), baseline);
            b.Pids.AddRange(a.GetIntList("baseline-pid", [], 1));
        }

        return new RunOptions
        {
            Scenarios = scenarios.Select(s => s.ToUpperInvariant() == "SMOKE" ? "smoke" : s.ToUpperInvariant()).ToArray(),
            Target = t,
            Baseline = b,
            TokenKey = a.Get("token-key") ?? Environment.GetEnvironmentVariable("Auth__SigningKey")
                ?? throw new ArgumentException("--token-key (the service's Auth:SigningKey) is required"),
            Issuer = a.Get("issuer") ?? Environment.GetEnvironmentVariable("Auth__Issuer") ?? "notifications",
            Audience = a.Get("audience") ?? Environment.GetEnvironmentVariable("Auth__Audience") ?? "notifications",
            Rounds = a.GetInt("rounds", 2, 1),
            Duration = a.Has("duration") ? a.GetPositive("duration", 10) : null,
            Warmup = a.GetNonNegative("warmup", 2),
            JitWarmup = a.GetNonNegative("jit-warmup", 20),
            JitWarmupMax = a.GetNonNegative("jit-warmup-max", 120),
            BroadcastWarmup = a.GetNonNegative("broadcast-warmup", 10),
            Settle = a.GetNonNegative("settle", 3),
            Cooldown = a.GetNonNegative("cooldown", 2),
            Connections = a.Has("connections") ? a.GetInt("connections", 1000, 1) : null,
            Levels = a.Has("levels") ? a.GetIntList("levels", [], 1) : null,
            Rate = a.GetPositive("rate", 10),
            ReadRate = a.GetPositive("read-rate", 60),
            ReadDuration = a.Has("read-duration") ? a.GetPositive("read-duration", 30) : null,
            LatencyConnections = a.GetInt("latency-connections", 1000, 0),
            Window = a.GetInt("window", 4, 1),
            ConnectConcurrency = a.GetInt("concurrency", 200, 1),
            SendConcurrency = a.GetInt("send-concurrency", 16, 1),
            SendRate = a.GetNonNegative("send-rate", 0),
            ConnectTimeout = a.GetPositive("connect-timeout", 30),
            ConnectRetries = a.GetInt("connect-retries", 2, 0),
            PayloadBytes = a.GetInt("payload-bytes", 200, 0),
            SpreadSources = a.Has("spread-sources") ? (a.Get("spread-sources") == "true" ? 64 : a.GetInt("spread-sources", 64, 0)) : 0,
            HubPath = a.Get("hub-path", "/hubs/notifications"),
            Protocol = HubProtocolKinds.Parse(a.Get("protocol", "json")),
            SeedNotifications = a.GetInt("seed-notifications", 1_000_000, 0),
            SeedUsers = a.GetInt("seed-users", 100_000, 1),
            SeedConcurrency = a.GetInt("seed-concurrency", 64, 1),
            SkipSeed = a.Flag("skip-seed"),
            SeedDb = SeedDbOf(a),
            SeedConnection = a.Get("seed-connection"),
            Missed = a.GetInt("missed", 3, 1),
            PingSeconds = a.GetPositive("ping-interval", 15),
            Out = a.Get("out"),
            Quiet = a.Flag("quiet"),
        };
    }

    private static string? SeedDbOf(CliArgs a)
    {
        var db = a.Get("seed-db")?.ToLowerInvariant();
        if (db is null)
        {
            return null;
        }

        if (db is not ("postgres" or "sqlite"))
        {
            throw new ArgumentException($"--seed-db: '{db}' is not postgres or sqlite");
        }

        return a.Get("seed-connection") is { Length: > 0 }
            ? db
            : throw new ArgumentException("--seed-db needs --seed-connection \"<connection string of the target's database>\"");
    }
}
