using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Notifications.LoadTest.Report;

/// <summary>`report a.json b.json …`: one Markdown table per scenario from the JSON files of `run` (for docs/benchmarks.md).</summary>
internal static class MarkdownReport
{
    public static async Task<int> RunAsync(IReadOnlyList<string> files)
    {
        if (files.Count == 0)
        {
            Console.Error.WriteLine("usage: report results.json [more.json …]");
            return 2;
        }

        var sb = new StringBuilder();
        var machineWritten = false;
        foreach (var file in files)
        {
            await using var stream = File.OpenRead(file);
            var run = await JsonSerializer.DeserializeAsync<RunReport>(stream, Reporter.Json)
                ?? throw new ArgumentException($"{file}: not a results file of `run`");
            if (!machineWritten && run.Machine.Count > 0)
            {
                machineWritten = true;
                sb.AppendLine("Machine: " + string.Join(", ", run.Machine.Select(p => p.Value is JsonElement { ValueKind: JsonValueKind.Array } a
                    ? $"{p.Key} {string.Join(" ", a.EnumerateArray())}"
                    : $"{p.Key} {p.Value}")));
                sb.AppendLine();
            }

            foreach (var sc in run.Scenarios)
            {
                var rounds = sc.Rounds.Count / Math.Max(1, sc.Targets.Count);
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"### {sc.Scenario} — {sc.Title} ({Path.GetFileName(file)}, median of {rounds} round{(rounds == 1 ? string.Empty : "s")}, hub protocol {Reporter.ProtocolOf(run)})");
                sb.AppendLine();
                var rows = Reporter.Grid(sc);
                sb.AppendLine("| " + string.Join(" | ", rows[0]) + " |");
                sb.AppendLine("|" + string.Join("|", rows[0].Select((_, i) => i < 2 ? "---" : "---:")) + "|");
                foreach (var cells in rows.Skip(1))
                {
                    sb.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
                }

                var notes = Reporter.Notes(sc).ToList();
                if (notes.Count > 0)
                {
                    sb.AppendLine();
                    foreach (var n in notes)
                    {
                        sb.AppendLine("- " + n);
                    }
                }

                sb.AppendLine();
            }
        }

        Console.Out.Write(sb.ToString());
        return 0;
    }
}
