using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Notifications.Api.Hardening;

/// <summary>
/// <c>/health/ready</c> turns unhealthy once the instance is stopping: a load balancer that probes it stops sending new
/// clients here while Kestrel still answers the requests in flight.
/// </summary>
public sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public const string Name = "not-stopping";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("The instance is shutting down.")
            : HealthCheckResult.Healthy());
}
