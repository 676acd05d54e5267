namespace Notifications.Infrastructure.Cluster;

/// <summary>The single-instance bus: everything stays in this process.</summary>
public sealed class InMemoryClusterBus : IClusterBus
{
    private readonly List<Func<MembershipChanged, Task>> handlers = [];
    private readonly List<Func<ReadStateChanged, Task>> readStateHandlers = [];

    // One change at a time, as on Redis: handlers read the stored state and apply it, which needs no interleaving.
    private readonly SemaphoreSlim applyGate = new(1, 1);
    private InstanceReport? latest;

    public async Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken)
    {
        Func<MembershipChanged, Task>[] current;
        lock (handlers)
        {
            current = [.. handlers];
        }

        await applyGate.WaitAsync(CancellationToken.None);
        try
        {
            foreach (var handler in current)
            {
                await handler(change);
            }
        }
        finally
        {
            applyGate.Release();
        }
    }

    public void Subscribe(Func<MembershipChanged, Task> handler)
    {
        lock (handlers)
        {
            handlers.Add(handler);
        }
    }

    public async Task PublishAsync(ReadStateChanged change, CancellationToken cancellationToken)
    {
        Func<ReadStateChanged, Task>[] current;
        lock (readStateHandlers)
        {
            current = [.. readStateHandlers];
        }

        foreach (var handler in current)
        {
            await handler(change);
        }
    }

    public void SubscribeReadState(Func<ReadStateChanged, Task> handler)
    {
        lock (readStateHandlers)
        {
            readStateHandlers.Add(handler);
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
