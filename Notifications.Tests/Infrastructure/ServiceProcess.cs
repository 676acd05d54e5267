using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// The API as a real OS process (the built Notifications.Api.dll), for what an in-process host cannot show:
/// kill -9, SIGTERM, several instances, and its console log. Settings go in as environment variables.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> settings;
    private readonly StringBuilder output = new();
    private Process? process;
    private IDisposable? killOnExit;

    public ServiceProcess(Dictionary<string, string?> settings, int? port = null)
    {
        this.settings = settings;
        Port = port ?? FreePort.Next();
    }

    public int Port { get; }

    public Uri BaseUri => new($"http://127.0.0.1:{Port}/");

    public int? ProcessId => process is { HasExited: false } ? process.Id : null;

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
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

    public static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Notifications.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("Notifications.sln not found above the test binaries.");
        }
    }

    public static string ApiAssembly
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            return Path.Combine(RepositoryRoot, "Notifications.Api", "bin", configuration, "net10.0", "Notifications.Api.dll");
        }
    }

    /// <summary>Starts the process and waits until /health/live answers.</summary>
    public async Task StartAsync(TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ApiAssembly)!,
        };
        info.ArgumentList.Add(ApiAssembly);
        info.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{Port}";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        info.Environment["Logging__Console__FormatterName"] = "simple";
        foreach (var (key, value) in TestTokens.ServerSettings().Concat(settings))
        {
            info.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();

        // A child of the test host: orphaned if the test host dies, unless the watchdog kills it.
        killOnExit?.Dispose();
        killOnExit = TestRunCleanup.KillOnExit(process);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            if (process.HasExited)
            {
                // HasExited does not wait for the redirected output to be read to its end; this does. Without it, a
                // loaded machine was seen to report an exit with no output at all.
                await process.WaitForExitAsync().WithTimeout(what: "the API process's output to end");
                throw new InvalidOperationException($"The API process exited with {process.ExitCode} during start:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The API process did not become live in time:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, as in a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WithTimeout(what: "the API process to die");
        }
    }

    /// <summary>SIGTERM: the graceful shutdown an orchestrator asks for.</summary>
    public async Task TerminateAsync(TimeSpan? timeout = null)
    {
        if (process is { HasExited: false })
        {
            await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
            await process.WaitForExitAsync().WithTimeout(timeout ?? TimeSpan.FromSeconds(30), "the API process to shut down");
        }
    }

    public int? ExitCode => process is { HasExited: true } ? process.ExitCode : null;

    public HttpClient Client(string userId, params string[] roles)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = Timeouts.Default };
        client.DefaultRequestHeaders.Authorization = new("Bearer", TestTokens.For(userId, roles));
        return client;
    }

    public Task<HubClient> ConnectAsync(string userId, params string[] roles) => HubClient.ConnectAsync(HubClient.Builder(BaseUri, () => TestTokens.For(userId, roles)));

    /// <summary>Sends as the given admin and returns the new id; fails the test on anything but 201.</summary>
    public async Task<long> SendAsync(string senderId, object request)
    {
        using var sender = Client(senderId, "admin");
        return (await sender.SendNotificationAsync(request)).Id;
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

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process?.Dispose();
        killOnExit?.Dispose();
    }
}
