using System.Diagnostics;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Client;

/// <summary>Outcome of connecting (or reconnecting) a batch of clients.</summary>
public sealed class ConnectReport
{
    public int Requested;
    public int Connected;
    public int Failed;
    public double Seconds;
    /// <summary>Time of each successful connect + handshake (its last attempt).</summary>
    public Histogram Latency { get; } = new();

    /// <summary>Time of each failed attempt until it failed (a timeout counts its full wait), retried or not.</summary>
    public Histogram FailedLatency { get; } = new();
    public Dictionary<string, int> Errors { get; } = new(StringComparer.Ordinal);

    public double PerSecond => Seconds > 0 ? Connected / Seconds : 0;

    public string ErrorSummary() =>
        string.Join("; ", Errors.OrderByDescending(e => e.Value).Take(3).Select(e => $"{e.Value}× {e.Key}"));
}

/// <summary>
/// Owns many <see cref="HubClient"/>s of one target: connects them with bounded concurrency, keeps them alive with
/// hub pings (each client pings when it sent nothing for ~<c>pingSeconds</c>; the server drops clients silent for 30 s),
/// and tears them down.
/// </summary>
public sealed class ClientPool : IAsyncDisposable
{
    private readonly List<HubClient> _clients = [];
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _pinger;
    private readonly long _pingIdleTicks;

    public ClientPool(ClientContext context, double pingSeconds = 15)
    {
        Context = context;
        _pingIdleTicks = (long)(pingSeconds * Stopwatch.Frequency);
        _pinger = Task.Run(PingLoopAsync);
    }

    public ClientContext Context { get; }

    public IReadOnlyList<HubClient> Clients => _clients;

    public int OpenCount => _clients.Count(c => c.IsOpen);

    /// <summary>Adds clients until <paramref name="total"/> exist and connects the new ones.</summary>
    public Task<ConnectReport> GrowToAsync(int total, int concurrency, TimeSpan connectTimeout, int retries, CancellationToken ct)
    {
        var start = _clients.Count;
        lock (_clients)
        {
            for (var i = start; i < total; i++)
            {
                _clients.Add(new HubClient(Context, i));
            }
        }

        Interlocked.Exchange(ref Context.Counters.Wanted, _clients.Count);
        return ConnectAsync(_clients.Skip(start).ToList(), concurrency, connectTimeout, retries, ct);
    }

    /// <summary>(Re)connects every client that is not open.</summary>
    public Task<ConnectReport> ReconnectAllAsync(int concurrency, TimeSpan connectTimeout, int retries, CancellationToken ct,
        Func<HubClient, Task>? afterConnect = null) =>
        ConnectAsync(_clients.Where(c => !c.IsOpen).ToList(), concurrency, connectTimeout, retries, ct, afterConnect);

    public async Task<ConnectReport> ConnectAsync(IReadOnlyList<HubClient> clients, int concurrency, TimeSpan connectTimeout,
        int retries, CancellationToken ct, Func<HubClient, Task>? afterConnect = null)
    {
        var report = new ConnectReport { Requested = clients.Count };
        var started = Stopwatch.GetTimestamp();
        var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, concurrency), CancellationToken = ct };
        try
        {
            await Parallel.ForEachAsync(clients, options, async (client, token) =>
            {
                for (var attempt = 0; ; attempt++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(token);
                        timeout.CancelAfter(connectTimeout);
                        await client.ConnectAsync(timeout.Token);
                        report.Latency.RecordTicks(Stopwatch.GetTimestamp() - t0);
                        if (afterConnect is not null)
                        {
                            await afterConnect(client);
                        }

                        Interlocked.Increment(ref report.Connected);
                        return;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
                    {
                        report.FailedLatency.RecordTicks(Stopwatch.GetTimestamp() - t0);
                        if (attempt >= retries)
                        {
                            Interlocked.Increment(ref report.Failed);
                            Interlocked.Increment(ref Context.Counters.Errors);
                            var key = HubClient.Describe(ex);
                            lock (report.Errors)
                            {
                                report.Errors[key] = report.Errors.GetValueOrDefault(key) + 1;
                            }

                            return;
                        }

                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * (1 << Math.Min(attempt, 4)))), token);
                    }
                }
            });
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }

        report.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return report;
    }

    /// <summary>Drops every open connection (RST) and waits until all receive loops ended.</summary>
    public async Task AbortAllAsync()
    {
        var tasks = new List<Task>(_clients.Count);
        foreach (var c in _clients)
        {
            tasks.Add(c.AbortAsync());
        }

        await Task.WhenAll(tasks);
    }

    /// <summary>Waits until <paramref name="condition"/> holds or the timeout passes; true when it held.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout, CancellationToken ct, int pollMs = 5)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (!condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                return false;
            }

            await Task.Delay(pollMs, ct);
        }

        return true;
    }

    private async Task PingLoopAsync()
    {
        // Every second, look at 1/Slices of the clients; each pings if it was silent for the idle interval.
        const int Slices = 5;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / Slices));
        long tick = 0;
        try
        {
            while (await timer.WaitForNextTickAsync(_cts.Token))
            {
                var slice = (int)(tick++ % Slices);
                var now = Stopwatch.GetTimestamp();
                lock (_clients)
                {
                    for (var i = slice; i < _clients.Count; i += Slices)
                    {
                        _ = _clients[i].PingIfIdleAsync(now, _pingIdleTicks);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _pinger;
        await AbortAllAsync();
        Interlocked.Exchange(ref Context.Counters.Wanted, 0);
        _cts.Dispose();
    }
}
