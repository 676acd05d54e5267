namespace Notifications.Tests.Infrastructure;

/// <summary>A real redis-server on a free loopback port; it can be killed and started again on the same port.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private RedisServer(string root, int port)
    {
        Root = root;
        Port = port;
    }

    public int Port { get; }

    public string Root { get; }

    public string Configuration => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=2000,syncTimeout=2000,asyncTimeout=2000";

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
             "--dir", Root, "--daemonize", "yes", "--pidfile", Path.Combine(Root, "redis.pid"), "--logfile", Path.Combine(Root, "redis.log")]);
        await Timeouts.Eventually(async () => (await PingAsync()).Contains("PONG", StringComparison.Ordinal), "redis-server answers PING");
    }

    public Task<string> PingAsync() =>
        ProcessRunner.RunAsync("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "ping"], TimeSpan.FromSeconds(5), check: false);

    /// <summary>Kills the server process hard (SIGKILL), as a crash would.</summary>
    public async Task KillAsync()
    {
        var pidFile = Path.Combine(Root, "redis.pid");
        if (File.Exists(pidFile))
        {
            var pid = int.Parse((await File.ReadAllTextAsync(pidFile)).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync().WithTimeout(what: "redis-server to die");
            }
            catch (ArgumentException)
            {
            }

            File.Delete(pidFile);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ProcessRunner.RunAsync("redis-cli", ["-p", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "shutdown", "nosave"], TimeSpan.FromSeconds(5), check: false);
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
