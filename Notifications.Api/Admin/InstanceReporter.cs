using Notifications.Api.Hubs;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;

namespace Notifications.Api.Admin;

/// <summary>Tells the other instances, every few seconds, how many connections and which users this one holds.</summary>
public sealed class InstanceReporter(IClusterBus bus, ConnectionRegistry registry, InstanceIdentity instance, TimeProvider time) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan WithdrawTimeout = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                await bus.ReportAsync(new InstanceReport(instance.Id, registry.Connections, registry.UserIds, time.GetUtcNow().UtcDateTime), stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        // Stopping: the admin stats of the other instances stop counting this one now, not when its report expires.
        try
        {
            await bus.WithdrawReportAsync(instance.Id).WaitAsync(WithdrawTimeout, time, CancellationToken.None);
        }
        catch (TimeoutException)
        {
        }
    }
}
