using System.Diagnostics;
using System.Globalization;
using Notifications.LoadTest.Auth;
using Notifications.LoadTest.Client;
using Notifications.LoadTest.Http;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Scenarios;

/// <summary>Everything a scenario needs: options, token minter, send API, live counters and the progress line.</summary>
public sealed class RunContext(RunOptions options, JwtMinter minter, SendApi api, LiveCounters counters, Progress progress)
{
    public RunOptions Options { get; } = options;

    public JwtMinter Minter { get; } = minter;

    public SendApi Api { get; } = api;

    public LiveCounters Counters { get; } = counters;

    public Progress Progress { get; } = progress;

    public ClientPool NewPool(TargetSpec target) =>
        new(new ClientContext(target.Endpoints, Minter, Counters, Options.SpreadSources) { Protocol = Options.Protocol }, Options.PingSeconds);

    public TimeSpan ConnectTimeout => TimeSpan.FromSeconds(Options.ConnectTimeout);

    public void Log(string message) => Progress.Log(message);

    public static long Now => Stopwatch.GetTimestamp();

    public static long TicksFromSeconds(double seconds) => (long)(seconds * Stopwatch.Frequency);

    public static double Seconds(long ticks) => ticks / (double)Stopwatch.Frequency;

    public static string Key(string name, int level) => name + "@" + level.ToString(CultureInfo.InvariantCulture);

    /// <summary>The open-file limit of this process (each connection needs one descriptor).</summary>
    public static int OpenFileLimit()
    {
        try
        {
            var line = File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            if (line is not null)
            {
                var parts = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft))
                {
                    return soft;
                }
            }
        }
        catch (IOException)
        {
        }

        return int.MaxValue;
    }

    /// <summary>Caps a connection count to what this process can hold, with a warning.</summary>
    public int CapConnections(int wanted)
    {
        var cap = OpenFileLimit() - 300;
        if (wanted > cap)
        {
            Log($"warning: {wanted} connections exceed the open-file limit of this process; using {cap}");
            return cap;
        }

        return wanted;
    }
}

/// <summary>CPU and RSS of the target process(es) (and of this tool) over a window.</summary>
public sealed class ServerSampler
{
    private readonly IReadOnlyList<int> _pids;
    private readonly long _t0;
    private readonly double _cpu0;
    private readonly double _selfCpu0;

    public ServerSampler(IReadOnlyList<int> pids)
    {
        _pids = pids;
        _t0 = Stopwatch.GetTimestamp();
        _cpu0 = ProcStats.CpuSeconds(pids);
        _selfCpu0 = ProcStats.CpuSeconds(Environment.ProcessId);
    }

    /// <summary>Server CPU seconds (all processes) used since the sampler started, or NaN when unknown.</summary>
    public double ServerCpuSeconds()
    {
        var cpu = ProcStats.CpuSeconds(_pids);
        return cpu < 0 || _cpu0 < 0 ? double.NaN : cpu - _cpu0;
    }

    /// <summary>Server CPU in % of one core since the sampler started, or NaN when unknown.</summary>
    public double ServerCpuPercent()
    {
        var wall = Stopwatch.GetElapsedTime(_t0).TotalSeconds;
        return wall <= 0 ? double.NaN : ServerCpuSeconds() / wall * 100.0;
    }

    public double ToolCpuPercent()
    {
        var cpu = ProcStats.CpuSeconds(Environment.ProcessId);
        var wall = Stopwatch.GetElapsedTime(_t0).TotalSeconds;
        return wall <= 0 ? double.NaN : (cpu - _selfCpu0) / wall * 100.0;
    }

    public void AddCpu(Dictionary<string, double> metrics, string suffix = "")
    {
        metrics["server_cpu_pct" + suffix] = ServerCpuPercent();
        metrics["tool_cpu_pct" + suffix] = ToolCpuPercent();
    }

    /// <summary>Median RSS (KB) of several samples, to damp GC noise.</summary>
    public static async Task<double> MedianRssKbAsync(IReadOnlyList<int> pids, int samples, TimeSpan gap, CancellationToken ct)
    {
        if (pids.Count == 0)
        {
            return double.NaN;
        }

        var values = new List<long>(samples);
        for (var i = 0; i < samples; i++)
        {
            if (i > 0)
            {
                await Task.Delay(gap, ct);
            }

            var v = ProcStats.RssKb(pids);
            if (v > 0)
            {
                values.Add(v);
            }
        }

        if (values.Count == 0)
        {
            return double.NaN;
        }

        values.Sort();
        return values[values.Count / 2];
    }
}
