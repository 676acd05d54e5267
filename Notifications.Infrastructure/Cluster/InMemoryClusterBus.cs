namespace Notifications.Infrastructure.Cluster;

/// <summary>The single-instance bus: everything stays in this process.</summary>
public sealed class InMemoryClusterBus : IClusterBus
{
    private readonly List<Func<MembershipChanged, Task>> handlers = [];
    private InstanceReport? latest;

    public async Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken)
    {
        foreach (var handler in handlers.ToArray())
        {
            await handler(change);
        }
    }

    public void Subscribe(Func<MembershipChanged, Task> handler)
    {
        lock (handlers)
        {
            handlers.Add(handler);
        }
    }

    // Nothing is ever missed in one process.
    public void SubscribeResync(Func<CancellationToken, Task> handler)
    {
    }

    public Task ReportAsync(InstanceReport report, CancellationToken cancellationToken)
    {
        latest = report;
        return Task.CompletedTask;
    }

    public Task WithdrawReportAsync(string instanceId)
    {
        if (latest?.InstanceId == instanceId)
        {
            latest = null;
        }

        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<InstanceReport>> GetReportsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<InstanceReport>>(latest is null ? [] : [latest]);
}
