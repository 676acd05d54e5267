using System.Diagnostics;

namespace Notifications.Tests.Infrastructure;

public static class ProcessRunner
{
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Runs a command to completion (bounded) and returns its output; throws with the output on failure.</summary>
    public static async Task<string> RunAsync(string file, IEnumerable<string> args, TimeSpan? timeout = null, bool check = true)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");

        // Some commands run long (the load tool) or start servers (pg_ctl): none may outlive a test host that dies meanwhile.
        using var killOnExit = TestRunCleanup.KillOnExit(process);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', info.ArgumentList)} did not finish in time.");
        }

        var output = await stdout + await stderr;
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}: {output}");
        }

        return output;
    }

    /// <summary>Runs as the given system user when we are root (PostgreSQL refuses to run as root).</summary>
    public static Task<string> RunAsUserAsync(string user, string file, IEnumerable<string> args, TimeSpan? timeout = null, bool check = true) =>
        IsRoot ? RunAsync("runuser", ["-u", user, "--", file, .. args], timeout, check) : RunAsync(file, args, timeout, check);
}
