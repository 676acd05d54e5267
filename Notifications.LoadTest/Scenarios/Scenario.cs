namespace Notifications.LoadTest.Scenarios;

/// <summary>A metric shown in the table. Every metric a round returns also goes to the JSON file.</summary>
public sealed record MetricDef(string Key, string Label, string Unit, bool HigherIsBetter);

/// <summary>Raw result of one round against one target.</summary>
public sealed class RoundResult
{
    public Dictionary<string, double> Metrics { get; } = new(StringComparer.Ordinal);

    public List<string> Notes { get; } = [];

    /// <summary>False fails the run (smoke); load scenarios note problems instead.</summary>
    public bool Passed { get; set; } = true;
}

public abstract class Scenario
{
    public abstract string Name { get; }

    public abstract string Title { get; }

    /// <summary>Table rows; computed per options so levels show up as rows.</summary>
    public abstract IReadOnlyList<MetricDef> Table(RunOptions o);

    /// <summary>Once per target before the rounds (seeding). Metrics returned are reported as-is.</summary>
    public virtual Task<RoundResult?> PrepareAsync(RunContext ctx, TargetSpec target, CancellationToken ct) =>
        Task.FromResult<RoundResult?>(null);

    public abstract Task<RoundResult> RunAsync(RunContext ctx, TargetSpec target, int round, CancellationToken ct);

    /// <summary>A smoke check runs once per target, not interleaved rounds.</summary>
    public virtual bool SingleRound => false;

    /// <summary>
    /// Memory scenarios want a fresh server process per round (a .NET server keeps its heap high-water mark, so a
    /// second round would measure reuse). The runner restarts servers it started itself; otherwise it warns.
    /// </summary>
    public virtual bool FreshServerPerRound => false;

    /// <summary>Connections used by the warm-up before a target's first round (0 = none).</summary>
    public virtual int WarmupConnections => 200;

    /// <summary>
    /// Connections for the warm-up's broadcast burst (<see cref="RunOptions.BroadcastWarmup"/>), for scenarios measured
    /// by broadcasting as fast as the server drains (0 = no burst).
    /// </summary>
    public virtual int WarmupBroadcastConnections(RunOptions o) => 0;

    public static Scenario Create(string name) => name switch
    {
        "S1" => new IdleScenario(),
        "S2" => new ConnectStormScenario(),
        "S3" => new BroadcastScenario(),
        "S4" => new TargetedScenario(),
        "S5" => new LargeStoreScenario(),
        "S6" => new BackplaneScenario(),
        "smoke" => new SmokeScenario(),
        _ => throw new ArgumentException($"unknown scenario '{name}' (S1..S6, smoke)"),
    };
}
