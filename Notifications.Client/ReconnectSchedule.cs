using Microsoft.AspNetCore.SignalR.Client;

namespace Notifications.Client;

/// <summary>
/// Backoff used both by SignalR's automatic reconnect and by the SDK's own restart after a server-initiated close.
/// Never returns null: giving up would silently leave the inbox stale; only Stop/Dispose ends the retries.
/// </summary>
internal sealed class ReconnectSchedule : IRetryPolicy
{
    private static readonly TimeSpan[] DefaultDelays =
    [
        TimeSpan.Zero,
        TimeSpan.FromSeconds(1),
        TimeSpan.FromSeconds(2),
        TimeSpan.FromSeconds(5),
        TimeSpan.FromSeconds(10),
    ];

    private readonly TimeSpan[] _delays;

    public ReconnectSchedule(IReadOnlyList<TimeSpan>? delays)
    {
        if (delays is { Count: > 0 } && delays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentOutOfRangeException(nameof(delays), "Reconnect delays must not be negative.");
        }

        _delays = delays is { Count: > 0 } ? [.. delays] : DefaultDelays;
    }

    /// <summary>Delay before attempt number <paramref name="previousAttempts"/> + 1; the last delay repeats.</summary>
    public TimeSpan Delay(long previousAttempts)
    {
        var delay = _delays[(int)Math.Min(previousAttempts, _delays.Length - 1)];
        if (delay <= TimeSpan.Zero)
        {
            return TimeSpan.Zero;
        }

        // ±20 % jitter: after a server restart thousands of clients would otherwise reconnect in the same instant.
        return delay * (0.8 + (0.4 * Random.Shared.NextDouble()));
    }

    public TimeSpan? NextRetryDelay(RetryContext retryContext) => Delay(retryContext.PreviousRetryCount);
}
