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
            using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(file));
            var root = doc.RootElement;
            if (!machineWritten && root.TryGetProperty("machine", out var machine))
            {
                machineWritten = true;
                sb.AppendLine("Machine: " + string.Join(", ", machine.EnumerateObject().Select(p => p.Value.ValueKind == JsonValueKind.Array
                    ? $"{p.Name} {string.Join(" ", p.Value.EnumerateArray())}"
                    : $"{p.Name} {p.Value}")));
                sb.AppendLine();
            }

            if (!root.TryGetProperty("scenarios", out var scenarios))
            {
                continue;
            }

            foreach (var sc in scenarios.EnumerateArray())
            {
                var labels = sc.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("label").GetString() ?? "?").ToList();
                var rounds = sc.GetProperty("rounds").GetArrayLength() / Math.Max(1, labels.Count);
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"### {sc.GetProperty("scenario").GetString()} — {sc.GetProperty("title").GetString()} ({Path.GetFileName(file)}, median of {rounds} round{(rounds == 1 ? string.Empty : "s")})");
                sb.AppendLine();
                var header = new List<string> { "metric", "unit" };
                header.AddRange(labels);
                if (labels.Count == 2)
                {
                    header.Add($"{labels[0]} / {labels[1]}");
                }

                header.Add("better");
                sb.AppendLine("| " + string.Join(" | ", header) + " |");
                sb.AppendLine("|" + string.Join("|", header.Select((_, i) => i < 2 ? "---" : "---:")) + "|");
                foreach (var row in sc.GetProperty("summary").EnumerateArray())
                {
                    var cells = new List<string> { row.GetProperty("label").GetString() ?? string.Empty, row.GetProperty("unit").GetString() ?? string.Empty };
                    var values = row.GetProperty("values");
                    cells.AddRange(labels.Select(l => values.TryGetProperty(l, out var v) && v.ValueKind == JsonValueKind.Number
                        ? Reporter.Format(v.GetDouble())
                        : "n/a"));
                    if (labels.Count == 2)
                    {
                        var ratio = row.GetProperty("ratio");
                        cells.Add(ratio.ValueKind == JsonValueKind.Number ? ratio.GetDouble().ToString("0.00", CultureInfo.InvariantCulture) : "–");
                    }

                    cells.Add(row.GetProperty("better").GetString() ?? string.Empty);
                    sb.AppendLine("| " + string.Join(" | ", cells.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
                }

                var notes = sc.GetProperty("prepare").EnumerateArray().Concat(sc.GetProperty("rounds").EnumerateArray())
                    .SelectMany(r => r.GetProperty("notes").EnumerateArray().Select(n => $"{r.GetProperty("target").GetString()}: {n.GetString()}"))
                    .Distinct()
                    .ToList();
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
