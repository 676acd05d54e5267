namespace Notifications.Infrastructure.Cluster;

/// <summary>The single-instance bus: everything stays in this process.</summary>
public sealed class InMemoryClusterBus : IClusterBus
{
    private readonly HandlerList<MembershipChanged> handlers = new();
    private readonly HandlerList<ReadStateChanged> readStateHandlers = new();

    // One change at a time, as on Redis: handlers read the stored state and apply it, which needs no interleaving.
    private readonly SemaphoreSlim applyGate = new(1, 1);
    private InstanceReport? latest;

    public async Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken)
    {
        await applyGate.WaitAsync(CancellationToken.None);
        try
        {
            await handlers.InvokeInTurnAsync(change);
        }
        finally
        {
            applyGate.Release();
        }
    }

    public void Subscribe(Func<MembershipChanged, Task> handler)
    {
        handlers.Add(handler);
    }

    public Task PublishAsync(ReadStateChanged change, CancellationToken cancellationToken) => readStateHandlers.InvokeInTurnAsync(change);

    public void SubscribeReadState(Func<ReadStateChanged, Task> handler) => readStateHandlers.Add(handler);

    // Nothing is ever missed in one process.
    public void SubscribeResync(Func<CancellationToken, Task> handler)
    {
    }

    public Task ResyncNowAsync(DateTime notBefore, CancellationToken cancellationToken) => Task.CompletedTask;

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
