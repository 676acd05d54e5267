using System.Diagnostics;
using Npgsql;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// A real PostgreSQL server started as a plain process on a free loopback port. One server serves the test run;
/// each fixture gets its own database.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static PostgresServer? shared;
    private readonly string binDir;
    private readonly string dataDir;
    private IDisposable? stopOnExit;

    private PostgresServer(string binDir, string root, int port)
    {
        this.binDir = binDir;
        Root = root;
        dataDir = Path.Combine(root, "data");
        Port = port;
    }

    public int Port { get; }

    public string Root { get; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false;Timeout=10";

    public static async Task<PostgresServer> SharedAsync()
    {
        await SharedGate.WaitAsync();
        try
        {
            if (shared is null)
            {
                shared = await StartAsync();

                // The runner kills a test host that is slow to exit, so at exit the stop is only begun (pg_ctl goes on
                // without us); the watchdog waits for it and deletes the directory, and stops the server itself when
                // the test host died without running this.
                AppDomain.CurrentDomain.ProcessExit += (_, _) => shared.BeginStop();
            }

            return shared;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    public static async Task<PostgresServer> StartAsync()
    {
        var binDir = Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin"))
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("PostgreSQL server binaries were not found under /usr/lib/postgresql (./test.sh installs them).");
        var root = Directory.CreateTempSubdirectory("notifications-pg-").FullName;
        if (ProcessRunner.IsRoot)
        {
            await ProcessRunner.RunAsync("chown", ["postgres", root]);
        }

        var server = new PostgresServer(binDir, root, FreePort.Next());
        server.stopOnExit = TestRunCleanup.OnExit(server.StopCommand());
        await ProcessRunner.RunAsUserAsync("postgres", Path.Combine(binDir, "initdb"),
            ["-D", server.dataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"], TimeSpan.FromSeconds(60));
        await server.StartProcessAsync();
        return server;
    }

    public async Task StartProcessAsync() =>
        await ProcessRunner.RunAsUserAsync("postgres", Path.Combine(binDir, "pg_ctl"),
            ["-D", dataDir, "-l", Path.Combine(Root, "pg.log"), "-w", "-t", "30",
             "-o", $"-p {Port} -k {Root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300", "start"],
            TimeSpan.FromSeconds(45));

    /// <summary>Stops the server abruptly, as a crash would (for outage tests on a server of their own).</summary>
    public Task StopImmediateAsync() =>
        ProcessRunner.RunAsUserAsync("postgres", Path.Combine(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"], TimeSpan.FromSeconds(30), check: false);

    public Task StopAsync() =>
        ProcessRunner.RunAsUserAsync("postgres", Path.Combine(binDir, "pg_ctl"), ["-D", dataDir, "-m", "fast", "-w", "stop"], TimeSpan.FromSeconds(30), check: false);

    // Also for the watchdog: runs after the test host is gone, so it must not depend on anything but the shell.
    private string StopCommand(bool wait = true)
    {
        var stop = $"{TestRunCleanup.Quote(Path.Combine(binDir, "pg_ctl"))} -D {TestRunCleanup.Quote(dataDir)} -m immediate {(wait ? "-w -t 10" : "-W")} stop";
        return ProcessRunner.IsRoot ? $"runuser -u postgres -- {stop}" : stop;
    }

    private void BeginStop()
    {
        using var stopping = Process.Start(new ProcessStartInfo("sh", ["-c", $"{StopCommand(wait: false)} >/dev/null 2>&1"]) { UseShellExecute = false });
    }

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"test_{Guid.NewGuid():N}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Timeout=5;Command Timeout=15";
    }

    /// <summary>Stops the server (its data is thrown away, so no checkpoint) and deletes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopImmediateAsync();
        stopOnExit?.Dispose();
        TestRunCleanup.DeleteDirectory(Root);
    }
}
