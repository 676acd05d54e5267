namespace Notifications.Tests.Infrastructure;

/// <summary>
/// For an app under test: timestamps (elapsed time, which the rate limiters' windows are measured in) move only when the
/// test advances them, while wall-clock time and timers stay the system's, so token lifetimes and the app's background
/// loops behave as usual. (<see cref="SteppedClock"/> also steps timers, which would stop those loops.)
/// </summary>
public sealed class SteppedTimestampClock : TimeProvider
{
    private long ticks = TimeSpan.TicksPerDay;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
}
