using Microsoft.Extensions.Options;

namespace Notifications.Api.Retention;

/// <summary>Runs <see cref="RetentionCleaner"/> every <c>Retention:IntervalSeconds</c>; a failed run is retried at the next tick.</summary>
public sealed class RetentionJob(RetentionCleaner cleaner, IOptions<RetentionOptions> options, TimeProvider time, ILogger<RetentionJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.IntervalSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cleaner.RunOnceAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store may be down; nothing is lost by waiting for the next tick.
                    logger.LogWarning("Retention cleanup failed ({Error}); retrying at the next interval", ex.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
