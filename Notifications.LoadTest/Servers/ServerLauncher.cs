using System.Diagnostics;
using System.Reflection;
using Notifications.LoadTest.Http;

namespace Notifications.LoadTest.Servers;

/// <summary>Starts servers under test as child processes (--start-server, --start-baseline) and stops them at the end.</summary>
public sealed class ServerLauncher(string logDirectory) : IAsyncDisposable
{
    private readonly List<Process> _started = [];
    private readonly Dictionary<string, (string Command, Dictionary<string, string> Env, Uri BaseUri, Process Process)> _specs =
        new(StringComparer.Ordinal);

    public bool CanRestart(string name) => _specs.ContainsKey(name);

    /// <summary>Kills every server started here at once, without waiting (second signal, process exit).</summary>
    public void KillAll()
    {
        Process[] started;
        lock (_started)
        {
            started = [.. _started];
        }

        foreach (var p in started)
        {
            try
            {
                p.Kill(entireProcessTree: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
            {
            }
        }
    }

    /// <summary>Stops a server this launcher started and starts it again (fresh process: no retained heap).</summary>
    public async Task<int> RestartAsync(string name, SendApi probe, Action<string> log, CancellationToken ct)
    {
        var spec = _specs[name];
        await StopAsync(spec.Process);
        return await StartAsync(name, spec.Command, spec.Env, spec.BaseUri, probe, log, ct);
    }

    private static async Task StopAsync(Process p)
    {
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await p.WaitForExitAsync(wait.Token);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
        }
    }

    /// <summary>The command that runs this tool (apphost, or `dotnet path.dll`).</summary>
    public static string SelfCommand()
    {
        var process = Environment.ProcessPath ?? "dotnet";
        var entry = Assembly.GetEntryAssembly()?.Location;
        return Path.GetFileNameWithoutExtension(process).Equals("dotnet", StringComparison.OrdinalIgnoreCase) && !string.IsNullOrEmpty(entry)
            ? Quote(process) + " " + Quote(entry)
            : Quote(process);
    }

    public async Task<int> StartAsync(string name, string command, IReadOnlyDictionary<string, string> environment, Uri baseUri,
        SendApi probe, Action<string> log, CancellationToken ct)
    {
        Directory.CreateDirectory(logDirectory);
        var logPath = Path.Combine(logDirectory, name + ".log");
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = WorkingDirectoryFor(command) };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec " + command + " >> " + Quote(logPath) + " 2>&1");
        foreach (var (k, v) in environment)
        {
            psi.Environment[k] = v;
        }

        log($"starting {name}: {command} (log {logPath})");
        var process = Process.Start(psi) ?? throw new ServerStartException("could not start " + name);
        lock (_started)
        {
            _started.Add(process);
        }

        _specs[name] = (command, new Dictionary<string, string>(environment, StringComparer.Ordinal), baseUri, process);
        var health = new Uri(baseUri, "health/live");
        var deadline = Stopwatch.GetTimestamp() + (90 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited)
            {
                throw new ServerStartException($"{name} exited with code {process.ExitCode}; see {logPath}:\n{Tail(logPath)}");
            }

            if (await probe.ProbeAsync(health, ct))
            {
                log($"{name} is up (pid {process.Id})");
                return process.Id;
            }

            await Task.Delay(250, ct);
        }

        throw new ServerStartException($"{name} did not answer {health} within 90 s; see {logPath}");
    }

    /// <summary>The directory of the first *.dll in the command (so the app gets its own content root), else the current one.</summary>
    private static string WorkingDirectoryFor(string command)
    {
        var dll = command.Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Select(t => t.Trim('\'', '"'))
            .FirstOrDefault(t => t.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) && File.Exists(t));
        return dll is null ? Environment.CurrentDirectory : Path.GetDirectoryName(Path.GetFullPath(dll))!;
    }

    private static string Tail(string path)
    {
        try
        {
            var lines = File.ReadAllLines(path);
            return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 20)));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    public static string Quote(string s) => "'" + s.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    public async ValueTask DisposeAsync()
    {
        foreach (var p in _started)
        {
            await StopAsync(p);
            p.Dispose();
        }
    }
}

/// <summary>A server the tool was asked to start exited or never answered its health check.</summary>
public sealed class ServerStartException(string message) : Exception(message);
