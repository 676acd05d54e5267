using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Notifications.Api.Hardening;

/// <summary>
/// SignalR has no rate limiting of its own: this counts every hub method call against the calling user
/// (<c>RateLimit:HubInvocationsPerMinute</c>, shared by all of the user's connections here) and refuses the excess
/// with HubException "rate limited". The connection stays open.
/// </summary>
public sealed class HubRateLimitFilter : IHubFilter, IDisposable
{
    private readonly PartitionedRateLimiter<string>? limiter;
    private readonly int permitsPerMinute;
    private readonly NotificationsMetrics metrics;

    public HubRateLimitFilter(IOptions<RateLimitOptions> options, NotificationsMetrics metrics, TimeProvider time)
    {
        this.metrics = metrics;
        permitsPerMinute = options.Value.HubInvocationsPerMinute;
        if (permitsPerMinute > 0)
        {
            limiter = PartitionedRateLimiter.Create<string, string>(user => RateLimitPartition.Get(user, _ => PerMinute(permitsPerMinute, time)));
        }
    }

    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        if (limiter is not null)
        {
            var caller = invocationContext.Context.UserIdentifier ?? invocationContext.Context.ConnectionId;
            using var lease = limiter.AttemptAcquire(caller);
            if (!lease.IsAcquired)
            {
                metrics.RateLimited("hub");
                throw new HubException(
                    $"rate limited: at most {permitsPerMinute} hub calls per minute per user; retry in {RetryAfterSeconds(lease).ToString(CultureInfo.InvariantCulture)} s.");
            }
        }

        return await next(invocationContext);
    }

    public void Dispose() => limiter?.Dispose();

    public static FixedWindowLimiter PerMinute(int permits, TimeProvider time) => new(permits, TimeSpan.FromMinutes(1), time);

    /// <summary>
    /// Whole seconds until a retry can succeed, at least 1 (what a Retry-After header carries): the time left in the
    /// caller's window, rounded up so a retry on time is never early.
    /// </summary>
    public static int RetryAfterSeconds(RateLimitLease lease) =>
        lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
}
