using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Notifications.LoadTest.Metrics;
using Notifications.LoadTest.Scenarios;

namespace Notifications.LoadTest.Report;

public sealed class RunReport
{
    public string Tool { get; init; } = "Notifications.LoadTest";

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset FinishedAt { get; set; }

    public Dictionary<string, object> Machine { get; init; } = ProcStats.Machine();

    public Dictionary<string, object?> Options { get; init; } = [];

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public List<ScenarioReport> Scenarios { get; } = [];
}

public sealed class ScenarioReport
{
    public required string Scenario { get; init; }

    public required string Title { get; init; }

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public List<TargetInfo> Targets { get; } = [];

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public List<RoundEntry> Prepare { get; } = [];

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public List<RoundEntry> Rounds { get; } = [];

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public List<SummaryRow> Summary { get; } = [];

    public bool Passed => Rounds.All(r => r.Passed) && Prepare.All(r => r.Passed);
}

public sealed record TargetInfo(string Label, IReadOnlyList<string> Urls, IReadOnlyList<int> Pids);

public sealed class RoundEntry
{
    public int Round { get; init; }

    public required string Target { get; init; }

    public bool Passed { get; init; }

    public Dictionary<string, double?> Metrics { get; init; } = [];

    public List<string> Notes { get; init; } = [];

    public static RoundEntry From(int round, string target, RoundResult r) => new()
    {
        Round = round,
        Target = target,
        Passed = r.Passed,
        Metrics = r.Metrics.ToDictionary(kv => kv.Key, kv => Clean(kv.Value), StringComparer.Ordinal),
        Notes = r.Notes,
    };

    internal static double? Clean(double v) => double.IsFinite(v) ? Math.Round(v, 4) : null;
}

public sealed class SummaryRow
{
    public required string Metric { get; init; }

    public required string Label { get; init; }

    public required string Unit { get; init; }

    public required string Better { get; init; }

    /// <summary>Median over rounds, per target label.</summary>
    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public Dictionary<string, double?> Values { get; } = [];

    /// <summary>target / baseline (null without a baseline or when undefined).</summary>
    public double? Ratio { get; set; }

    /// <summary>
    /// target / baseline within each round (both sides measured minutes apart), then the median and the range over the
    /// rounds: how far one round can be trusted on a noisy box. Null with fewer than two rounds that have both values.
    /// </summary>
    public RoundRatios? RoundByRound { get; set; }
}

public sealed record RoundRatios(double Median, double Min, double Max, int Rounds);

public static class Reporter
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static void Summarize(ScenarioReport report, Scenario scenario, RunOptions o)
    {
        var labels = report.Targets.Select(t => t.Label).ToList();
        foreach (var def in scenario.Table(o))
        {
            var row = new SummaryRow
            {
                Metric = def.Key,
                Label = def.Label,
                Unit = def.Unit,
                Better = def.HigherIsBetter ? "higher" : "lower",
            };
            foreach (var label in labels)
            {
                var values = report.Rounds.Concat(report.Prepare)
                    .Where(r => r.Target == label && r.Metrics.TryGetValue(def.Key, out var v) && v is not null)
                    .Select(r => r.Metrics[def.Key]!.Value)
                    .ToList();
                row.Values[label] = values.Count == 0 ? null : RoundEntry.Clean(Median(values));
            }

            if (labels.Count == 2 && row.Values[labels[0]] is { } a && row.Values[labels[1]] is { } b && b != 0)
            {
                row.Ratio = Math.Round(a / b, 3);
                row.RoundByRound = RoundRatiosOf(report.Rounds, def.Key, labels[0], labels[1]);
            }

            report.Summary.Add(row);
        }
    }

    private static RoundRatios? RoundRatiosOf(IReadOnlyList<RoundEntry> rounds, string key, string target, string baseline)
    {
        double? ValueOf(int round, string label) => rounds.FirstOrDefault(r => r.Round == round && r.Target == label)?.Metrics.GetValueOrDefault(key);

        var ratios = rounds.Select(r => r.Round).Distinct()
            .Select(round => (A: ValueOf(round, target), B: ValueOf(round, baseline)))
            .Where(x => x is { A: not null, B: not null and not 0 })
            .Select(x => x.A!.Value / x.B!.Value)
            .ToList();
        return ratios.Count < 2
            ? null
            : new RoundRatios(Math.Round(Median(ratios), 3), Math.Round(ratios.Min(), 3), Math.Round(ratios.Max(), 3), ratios.Count);
    }

    public static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    /// <summary>Console table: the <see cref="Grid"/> in aligned columns, then the notes.</summary>
    public static string Table(ScenarioReport report, int rounds, string protocol)
    {
        var sb = new StringBuilder();
        var roundsText = report.Rounds.Count > report.Targets.Count ? $", median of {rounds} rounds" : string.Empty;
        sb.AppendLine(CultureInfo.InvariantCulture, $"== {report.Scenario} {report.Title}{roundsText}, hub protocol {protocol} ==");
        var rows = Grid(report);
        var widths = Enumerable.Range(0, rows[0].Length).Select(i => rows.Max(r => r[i].Length)).ToArray();
        foreach (var (cells, index) in rows.Select((r, i) => (r, i)))
        {
            sb.AppendJoin("  ", cells.Select((c, i) => i < 2 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).AppendLine();
            if (index == 0)
            {
                sb.AppendLine(new string('-', widths.Sum() + (2 * (widths.Length - 1))));
            }
        }

        foreach (var note in Notes(report))
        {
            sb.AppendLine("  note: " + note);
        }

        return sb.ToString();
    }

    /// <summary>
    /// What both renderers (console and Markdown) show: a header row, then per summary row the metric, unit, the median
    /// per target, the ratio (with two targets), the ratio round by round (with two targets and several rounds) and which
    /// direction is better.
    /// </summary>
    public static List<string[]> Grid(ScenarioReport report)
    {
        var labels = report.Targets.Select(t => t.Label).ToList();
        var withRatio = labels.Count == 2;
        var withRounds = withRatio && report.Summary.Any(r => r.RoundByRound is not null);
        var header = new List<string> { "metric", "unit" };
        header.AddRange(labels);
        if (withRatio)
        {
            header.Add($"{labels[0]} / {labels[1]}");
        }

        if (withRounds)
        {
            header.Add("round by round (range)");
        }

        header.Add("better");
        var rows = new List<string[]> { header.ToArray() };
        foreach (var row in report.Summary)
        {
            var cells = new List<string> { row.Label, row.Unit };
            cells.AddRange(labels.Select(l => Format(row.Values.GetValueOrDefault(l))));
            if (withRatio)
            {
                cells.Add(row.Ratio is { } r ? r.ToString("0.00", CultureInfo.InvariantCulture) : "–");
            }

            if (withRounds)
            {
                cells.Add(row.RoundByRound is { } rr
                    ? string.Create(CultureInfo.InvariantCulture, $"{rr.Median:0.00} ({rr.Min:0.00}–{rr.Max:0.00})")
                    : "–");
            }

            cells.Add(row.Better);
            rows.Add(cells.ToArray());
        }

        return rows;
    }

    /// <summary>Every note of the scenario once, as "target, round N: note" ("prepare" for seeding).</summary>
    public static IEnumerable<string> Notes(ScenarioReport report) =>
        report.Prepare.Select(e => (Entry: e, When: "prepare"))
            .Concat(report.Rounds.Select(e => (Entry: e, When: "round " + e.Round.ToString(CultureInfo.InvariantCulture))))
            .SelectMany(x => x.Entry.Notes.Select(n => $"{x.Entry.Target}, {x.When}: {n}"))
            .Distinct(StringComparer.Ordinal);

    public static string Format(double? value)
    {
        if (value is not { } v)
        {
            return "n/a";
        }

        var abs = Math.Abs(v);
        if (abs < 1e6 && v == Math.Round(v) && abs >= 1 && abs < 1000)
        {
            return v.ToString("0", CultureInfo.InvariantCulture);
        }

        return abs switch
        {
            >= 1000 => v.ToString("N0", CultureInfo.InvariantCulture),
            >= 100 => v.ToString("0.0", CultureInfo.InvariantCulture),
            >= 10 => v.ToString("0.00", CultureInfo.InvariantCulture),
            0 => "0",
            _ => v.ToString("0.000", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The hub protocol a results file recorded; files from before the option was added were all JSON.</summary>
    public static string ProtocolOf(RunReport run) =>
        run.Options.TryGetValue("protocol", out var p) && p?.ToString() is { Length: > 0 } name ? name : "json";

    public static async Task WriteJsonAsync(RunReport report, string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, report, Json);
    }
}
