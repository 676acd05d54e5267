using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Notifications.LoadTest.Metrics;

/// <summary>
/// Single progress line on stderr, rewritten with '\r' (every 250 ms on a terminal; every 5 s as plain lines when
/// stderr is redirected, so logs stay readable).
/// </summary>
public sealed class Progress : IAsyncDisposable
{
    private readonly CancellationTokenSource _cts = new();
    private readonly Task _loop;
    private readonly bool _interactive;
    private readonly bool _enabled;
    private readonly Stopwatch _phaseClock = Stopwatch.StartNew();
    private string _phase = "starting";
    private Func<string>? _detail;
    private int _lastLength;
    private long _lastDeliveries;
    private long _lastTicks = Stopwatch.GetTimestamp();

    private readonly LiveCounters _c;

    public Progress(LiveCounters counters, bool enabled)
    {
        _c = counters;
        _enabled = enabled;
        _interactive = !Console.IsErrorRedirected;
        _loop = enabled ? Task.Run(LoopAsync) : Task.CompletedTask;
    }

    public void Phase(string phase, Func<string>? detail = null)
    {
        lock (_phaseClock)
        {
            _phase = phase;
            _detail = detail;
            _phaseClock.Restart();
        }

        if (_enabled && !_interactive)
        {
            Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {phase}");
        }
    }

    /// <summary>A full line on stderr that does not garble the progress line.</summary>
    public void Log(string message)
    {
        lock (_phaseClock)
        {
            if (_interactive && _lastLength > 0)
            {
                Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
                _lastLength = 0;
            }

            Console.Error.WriteLine(message);
        }
    }

    private async Task LoopAsync()
    {
        var period = _interactive ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromSeconds(5);
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_cts.Token))
            {
                Render();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Render()
    {
        var now = Stopwatch.GetTimestamp();
        var deliveries = Interlocked.Read(ref _c.Deliveries);
        var dt = (now - _lastTicks) / (double)Stopwatch.Frequency;
        var rate = dt > 0 && deliveries >= _lastDeliveries ? (deliveries - _lastDeliveries) / dt : 0;
        _lastDeliveries = deliveries;
        _lastTicks = now;

        var sb = new StringBuilder(160);
        lock (_phaseClock)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{_phase} {_phaseClock.Elapsed.TotalSeconds,5:F1}s");
            sb.Append(CultureInfo.InvariantCulture, $" | conn {Interlocked.Read(ref _c.Connected)}/{Interlocked.Read(ref _c.Wanted)}");
            sb.Append(CultureInfo.InvariantCulture, $" | sent {Interlocked.Read(ref _c.Sent)}");
            sb.Append(CultureInfo.InvariantCulture, $" | recv {deliveries} ({Format(rate)}/s)");
            var errors = Interlocked.Read(ref _c.Errors);
            if (errors > 0)
            {
                sb.Append(CultureInfo.InvariantCulture, $" | err {errors}");
            }

            if (_detail is not null)
            {
                sb.Append(" | ").Append(_detail());
            }

            var line = sb.ToString();
            if (_interactive)
            {
                var width = 200;
                try
                {
                    width = Math.Max(40, Console.WindowWidth - 1);
                }
                catch (IOException)
                {
                }

                if (line.Length > width)
                {
                    line = line[..width];
                }

                var pad = Math.Max(0, _lastLength - line.Length);
                Console.Error.Write("\r" + line + new string(' ', pad));
                _lastLength = line.Length;
            }
            else
            {
                Console.Error.WriteLine("  " + line);
            }
        }
    }

    private static string Format(double v) => v switch
    {
        >= 1_000_000 => (v / 1_000_000).ToString("F2", CultureInfo.InvariantCulture) + "M",
        >= 10_000 => (v / 1000).ToString("F1", CultureInfo.InvariantCulture) + "k",
        _ => v.ToString("F0", CultureInfo.InvariantCulture),
    };

    public async ValueTask DisposeAsync()
    {
        await _cts.CancelAsync();
        await _loop;
        _cts.Dispose();
        if (_enabled && _interactive && _lastLength > 0)
        {
            Console.Error.Write("\r" + new string(' ', _lastLength) + "\r");
        }
    }
}
