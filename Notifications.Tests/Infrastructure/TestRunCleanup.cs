using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// Makes a test run leave nothing on the machine, even when the test host dies without running any code of ours
/// (kill -9, a crash, the runner killing it at the end of the run).
/// <para>
/// When the test assembly loads, the run gets a directory of its own (/tmp/notifications-run-PID-XXXXXX) and TMPDIR
/// points into it, so every temp directory the tests and their child processes create lands there. A watchdog shell,
/// in a session of its own and so outside the test host's process tree and process group, blocks reading a pipe whose
/// only write end the test host holds. However the test host ends, the kernel closes that end; the watchdog then runs
/// the cleanup commands still registered (stop a server, kill a child process) and deletes the run directory.
/// </para>
/// Servers and child processes register here when they start and unregister once they are stopped.
/// </summary>
public static class TestRunCleanup
{
    private const string WatchdogScript = """
        exec >/dev/null 2>&1
        cat
        [ -f "$1/cleanup.sh" ] && sh "$1/cleanup.sh"
        rm -rf "$1"
        """;

    // Stops a process (so a master cannot respawn workers), kills its descendants, then kills it; the start time
    // check makes sure a pid reused since registration is left alone.
    private const string ScriptHeader = """
        # Written by Notifications.Tests: what the watchdog stops when the test host is gone.
        start_time() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }
        kill_tree() {
          kill -STOP "$1" 2>/dev/null
          for child in $(pgrep -P "$1"); do kill_tree "$child"; done
          kill -KILL "$1" 2>/dev/null
        }
        kill_process() { [ -n "$2" ] && [ "$(start_time "$1")" = "$2" ] && kill_tree "$1"; }

        """;

    private static readonly Lock Gate = new();
    private static readonly SortedDictionary<long, string> Commands = [];
    private static long lastId;
    private static string? runDirectory;


    /// <summary>This run's directory (also TMPDIR); the watchdog deletes it after the test host exits.</summary>
    public static string RunDirectory => runDirectory ?? throw new InvalidOperationException("The run directory was not created.");

    /// <summary>Holds the write end of the watchdog's pipe for as long as the test host lives; never closed on purpose.</summary>
    internal static Process? Watchdog { get; private set; }

    private static string ScriptPath => Path.Combine(RunDirectory, "cleanup.sh");

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "A test assembly: the run directory and watchdog must exist before any test creates a temp directory.")]
    internal static void Start()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The tests run real servers as Linux processes.");
        }

        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var directory = Directory.CreateTempSubdirectory($"notifications-run-{pid}-").FullName;

        // Others may pass through (PostgreSQL runs as the postgres user in a directory of its own here), not list it.
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        runDirectory = directory;
        WriteScript();

        // setsid --fork: the watchdog is reparented at once, so killing the test host's tree or group misses it.
        var info = new ProcessStartInfo("setsid", ["--fork", "sh", "-c", WatchdogScript, "notifications-test-watchdog", directory])
        {
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        Watchdog = Process.Start(info) ?? throw new InvalidOperationException("The test run watchdog did not start.");
        Environment.SetEnvironmentVariable("TMPDIR", directory);
    }

    /// <summary>Runs the shell command when the test host is gone, unless the registration is disposed first.</summary>
    public static IDisposable OnExit(string shellCommand)
    {
        lock (Gate)
        {
            var id = ++lastId;
            Commands[id] = shellCommand;
            WriteScript();
            return new Registration(id);
        }
    }

    /// <summary>Kills the process and its descendants when the test host is gone, unless disposed first.</summary>
    public static IDisposable KillOnExit(Process process)
    {
        var startTime = StartTime(process.Id);
        return startTime is null
            ? new Registration(0)
            : OnExit($"kill_process {process.Id.ToString(CultureInfo.InvariantCulture)} {startTime}");
    }

    /// <summary>Single-quotes a value for the cleanup script.</summary>
    public static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>Deletes a directory tree; what cannot be deleted now goes with the run directory.</summary>
    public static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string? StartTime(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return fields.Length > 19 ? fields[19] : null;
        }
        catch (IOException)
        {
            // Already gone: nothing to kill later.
            return null;
        }
    }

    private static void Unregister(long id)
    {
        lock (Gate)
        {
            if (Commands.Remove(id))
            {
                WriteScript();
            }
        }
    }

    // Replaced whole (write, then rename) so the watchdog never reads half a script.
    private static void WriteScript()
    {
        var script = new StringBuilder(ScriptHeader);
        foreach (var command in Commands.Values.Reverse())
        {
            script.Append(command).Append('\n');
        }

        var temporary = ScriptPath + ".new";
        File.WriteAllText(temporary, script.ToString());
        File.Move(temporary, ScriptPath, overwrite: true);
    }

    private sealed class Registration(long id) : IDisposable
    {
        public void Dispose()
        {
            if (id != 0)
            {
                Unregister(id);
            }
        }
    }
}
