using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Notifications.Tests.Infrastructure;

/// <summary>One request as nginx logged it (deploy/nginx/notifications-http.conf, format "notifications").</summary>
public sealed record AccessLogEntry(string RemoteAddress, string Method, string Path, int Status, string Upstream);

/// <summary>
/// A real nginx in front of the given API ports, run from the checked-in deploy/nginx/nginx.test.conf.template (the
/// same rule files as docker-compose's nginx.conf) as a plain process on a free loopback port.
/// </summary>
public sealed partial class NginxServer : IAsyncDisposable
{
    private readonly Process process;
    private readonly IDisposable killOnExit;
    private readonly StringBuilder output = new();

    private NginxServer(string prefix, int port, Process process)
    {
        Prefix = prefix;
        Port = port;
        this.process = process;

        // A child of the test host, with workers of its own: orphaned if the test host dies, unless the watchdog kills them.
        killOnExit = TestRunCleanup.KillOnExit(process);
    }

    public string Prefix { get; }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public static string ConfigDirectory => Path.Combine(ServiceProcess.RepositoryRoot, "deploy", "nginx");

    public static async Task<NginxServer> StartAsync(IReadOnlyList<int> backendPorts)
    {
        var prefix = Directory.CreateTempSubdirectory("notifications-nginx-").FullName;
        var port = FreePort.Next();
        var template = await File.ReadAllTextAsync(Path.Combine(ConfigDirectory, "nginx.test.conf.template"));
        var config = template
            .Replace("{{PREFIX}}", prefix, StringComparison.Ordinal)
            .Replace("{{CONF_DIR}}", ConfigDirectory, StringComparison.Ordinal)
            .Replace("{{LISTEN_PORT}}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{BACKENDS}}", string.Join('\n', backendPorts.Select(p => $"        server 127.0.0.1:{p};")), StringComparison.Ordinal);
        Assert.DoesNotContain("{{", config, StringComparison.Ordinal);
        var configFile = Path.Combine(prefix, "nginx.conf");
        await File.WriteAllTextAsync(configFile, config);
        string[] arguments = ["-p", prefix, "-c", configFile, "-e", Path.Combine(prefix, "error.log")];
        await ProcessRunner.RunAsync("nginx", [.. arguments, "-t"], TimeSpan.FromSeconds(20));

        var info = new ProcessStartInfo("nginx") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments.Concat(["-g", "daemon off;"]))
        {
            info.ArgumentList.Add(argument);
        }

        var nginx = new NginxServer(prefix, port, Process.Start(info) ?? throw new InvalidOperationException("nginx did not start."));
        nginx.process.OutputDataReceived += (_, e) => nginx.Append(e.Data);
        nginx.process.ErrorDataReceived += (_, e) => nginx.Append(e.Data);
        nginx.process.BeginOutputReadLine();
        nginx.process.BeginErrorReadLine();
        await Timeouts.Eventually(nginx.AcceptsConnectionsAsync, "nginx accepts connections");
        return nginx;
    }

    /// <summary>The access log so far (nginx writes a WebSocket's line only when it closes; negotiate lines come at once).</summary>
    public IReadOnlyList<AccessLogEntry> AccessLog()
    {
        var path = Path.Combine(Prefix, "access.log");
        if (!File.Exists(path))
        {
            return [];
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        var entries = new List<AccessLogEntry>();
        while (reader.ReadLine() is { } line)
        {
            var match = LogLine().Match(line);
            if (match.Success)
            {
                entries.Add(new AccessLogEntry(
                    match.Groups["addr"].Value,
                    match.Groups["method"].Value,
                    match.Groups["path"].Value,
                    int.Parse(match.Groups["status"].Value, CultureInfo.InvariantCulture),
                    match.Groups["upstream"].Value));
            }
        }

        return entries;
    }

    public string RawAccessLog() => ReadShared(Path.Combine(Prefix, "access.log"));

    public string ErrorLog() => ReadShared(Path.Combine(Prefix, "error.log")) + Output;

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            // SIGTERM to the master: it stops its workers too (SIGKILL would orphan them).
            await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], check: false);
            try
            {
                await process.WaitForExitAsync().WithTimeout(TimeSpan.FromSeconds(10), "nginx to stop");
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        process.Dispose();
        killOnExit.Dispose();
        TestRunCleanup.DeleteDirectory(Prefix);
    }

    private static string ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return string.Empty;
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private async Task<bool> AcceptsConnectionsAsync()
    {
        if (process.HasExited)
        {
            throw new InvalidOperationException($"nginx exited with {process.ExitCode}:\n{ErrorLog()}");
        }

        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", Port).WaitAsync(TimeSpan.FromSeconds(2));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    // '$remote_addr [$time_iso8601] "$request_method $uri $server_protocol" $status $body_bytes_sent rt=.. upstream=$upstream_addr ustatus=..'
    // $upstream_addr lists every instance tried, comma-separated, when nginx passed the request on.
    [GeneratedRegex("""^(?<addr>\S+) \[[^\]]*\] "(?<method>\S+) (?<path>\S+) [^"]*" (?<status>\d+) \d+ rt=\S+ upstream=(?<upstream>.*?) ustatus=""")]
    private static partial Regex LogLine();
}
