namespace Notifications.Tests.Infrastructure;

/// <summary>A real redis-server on a free loopback port; it can be killed and started again on the same port.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly IDisposable killOnExit;

    private RedisServer(string root, int port)
    {
        Root = root;
        Port = port;

        // redis-server daemonizes, so it outlives a dead test host unless the watchdog kills it. The pid file names
        // whichever run of it is current (the tests kill and restart it); the name check guards against a reused pid.
        var pidFile = TestRunCleanup.Quote(PidFile);
        killOnExit = TestRunCleanup.OnExit(
            $"pid=$(cat {pidFile} 2>/dev/null) && [ \"$(cat /proc/$pid/comm 2>/dev/null)\" = redis-server ] && kill -KILL \"$pid\"");
    }

    public int Port { get; }

    public string Root { get; }

    private string PidFile => Path.Combine(Root, "redis.pid");

    public string Configuration => ConfigurationVia(Port);

    /// <summary>The configuration for reaching this server through <paramref name="port"/> (a <see cref="TcpForwarder"/>).</summary>
    public static string ConfigurationVia(int port) => $"127.0.0.1:{port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000";

    public static async Task<RedisServer> StartAsync()
    {
        var server = new RedisServer(Directory.CreateTempSubdirectory("notifications-redis-").FullName, FreePort.Next());
        await server.StartProcessAsync();
        return server;
    }

    public async Task StartProcessAsync()
    {
        await ProcessRunner.RunAsync("redis-server",
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", Root, "--daemonize", "yes", "--pidfile", PidFile, "--logfile", Path.Combine(Root, "redis.log")]);
        await Timeouts.Eventually(async () => (await PingAsync()).Contains("PONG", StringComparison.Ordinal), "redis-server answers PING");
    }

    public Task<string> PingAsync() =>
        ProcessRunner.RunAsync("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "ping"], TimeSpan.FromSeconds(5), check: false);

    /// <summary>Kills the server process hard (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        if (File.Exists(PidFile))
        {
            var pid = int.Parse((await File.ReadAllTextAsync(PidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync().WithTimeout(what: "redis-server to die");
            }
            catch (ArgumentException)
            {
            }

            File.Delete(PidFile);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "shutdown", "nosave"], TimeSpan.FromSeconds(5), check: false);

        // A clean shutdown removes the pid file; one still there means the server did not stop.
        await KillAsync();
        killOnExit.Dispose();
        TestRunCleanup.DeleteDirectory(Root);
    }
}
