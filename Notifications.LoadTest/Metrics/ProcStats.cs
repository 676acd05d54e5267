using System.Globalization;

namespace Notifications.LoadTest.Metrics;

/// <summary>Reads RSS (VmRSS) and CPU time (utime+stime) of processes from /proc (Linux).</summary>
public static class ProcStats
{
    /// <summary>USER_HZ; 100 on every mainstream Linux build.</summary>
    private const double ClockTicksPerSecond = 100.0;

    public static bool Available => OperatingSystem.IsLinux();

    /// <summary>Resident set size in KB, or -1 when unknown.</summary>
    public static long RssKb(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[1], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return -1;
    }

    /// <summary>user+system CPU seconds consumed so far, or -1 when unknown.</summary>
    public static double CpuSeconds(int pid)
    {
        try
        {
            return CpuSecondsOfStat(File.ReadAllText($"/proc/{pid}/stat"));
        }
        catch (IOException)
        {
            return -1;
        }
        catch (UnauthorizedAccessException)
        {
            return -1;
        }
    }

    /// <summary>
    /// CPU seconds used so far by the threads of <paramref name="pids"/> whose name starts with <paramref name="threadName"/>
    /// (Linux truncates names to 15 characters), or -1 when unknown. The .NET runtime names its background tiered
    /// compilation thread ".NET Tiered Com…": its CPU shows whether a server is still recompiling hot code.
    /// </summary>
    public static double ThreadCpuSeconds(IReadOnlyList<int> pids, string threadName)
    {
        if (pids.Count == 0 || !Available)
        {
            return -1;
        }

        double sum = 0;
        foreach (var pid in pids)
        {
            try
            {
                foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
                {
                    try
                    {
                        if (File.ReadAllText(Path.Combine(task, "comm")).StartsWith(threadName, StringComparison.Ordinal))
                        {
                            sum += CpuSecondsOfStat(File.ReadAllText(Path.Combine(task, "stat")));
                        }
                    }
                    catch (IOException)
                    {
                        // The thread ended between listing and reading.
                    }
                }
            }
            catch (IOException)
            {
                return -1;
            }
            catch (UnauthorizedAccessException)
            {
                return -1;
            }
        }

        return sum;
    }

    private static double CpuSecondsOfStat(string stat)
    {
        // comm may contain spaces: fields after the closing parenthesis are positional.
        var close = stat.LastIndexOf(')');
        var fields = stat[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state); utime is field 14, stime field 15.
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / ClockTicksPerSecond;
    }

    public static long RssKb(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0)
        {
            return -1;
        }

        long sum = 0;
        foreach (var p in pids)
        {
            var v = RssKb(p);
            if (v < 0)
            {
                return -1;
            }

            sum += v;
        }

        return sum;
    }

    public static double CpuSeconds(IReadOnlyList<int> pids)
    {
        if (pids.Count == 0)
        {
            return -1;
        }

        double sum = 0;
        foreach (var p in pids)
        {
            var v = CpuSeconds(p);
            if (v < 0)
            {
                return -1;
            }

            sum += v;
        }

        return sum;
    }

    /// <summary>
    /// Finds the process listening on a local TCP port by matching the socket inode in /proc/net/tcp{,6}
    /// with the fd links of every process. Returns null when not found (e.g. not root, remote host).
    /// </summary>
    public static int? PidListeningOn(int port)
    {
        if (!Available)
        {
            return null;
        }

        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length < 10 || parts[3] != "0A")
                {
                    continue;
                }

                var local = parts[1];
                var colon = local.LastIndexOf(':');
                if (int.Parse(local[(colon + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == port)
                {
                    inodes.Add("socket:[" + parts[9] + "]");
                }
            }
        }

        if (inodes.Count == 0)
        {
            return null;
        }

        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            var name = Path.GetFileName(dir);
            if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (target is not null && inodes.Contains(target))
                    {
                        return pid;
                    }
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return null;
    }

    public static Dictionary<string, object> Machine()
    {
        var info = new Dictionary<string, object>
        {
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            ["processors"] = Environment.ProcessorCount,
            ["hostname"] = Environment.MachineName,
        };
        try
        {
            var model = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (model is not null)
            {
                info["cpu"] = model[(model.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }

            info["loadAverage"] = File.ReadAllText("/proc/loadavg").Split(' ')[0..3];
            var mem = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (mem is not null)
            {
                info["memTotalKb"] = long.Parse(mem.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            }
        }
        catch (IOException)
        {
        }

        return info;
    }
}
