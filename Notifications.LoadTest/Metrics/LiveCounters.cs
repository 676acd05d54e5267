namespace Notifications.LoadTest.Metrics;

/// <summary>Process-wide counters shown on the progress line and snapshotted by scenarios.</summary>
public sealed class LiveCounters
{
    public long Connected;
    public long Wanted;
    public long Deliveries;
    public long Sent;
    public long Errors;
    public long Drops;
}
