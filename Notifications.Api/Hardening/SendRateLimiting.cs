using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Notifications.Api.Auth;

namespace Notifications.Api.Hardening;

/// <summary>
/// The rate limiter middleware on the send endpoint: <c>RateLimit:SendsPerMinute</c> per sender (<c>sub</c>), a fixed
/// one-minute window per instance (<see cref="FixedWindowLimiter"/>). Refusals are 429 ProblemDetails with
/// <c>Retry-After</c> in seconds: the time left in the sender's current window.
/// </summary>
public static class SendRateLimiting
{
    /// <summary>
    /// The policy the send endpoint requires. A named policy rather than a global limiter: the middleware then passes every
    /// other request (a hub connection among them) straight through, without a frame of its own.
    /// </summary>
    public const string SendsPolicy = "sends";

    public static IServiceCollection AddSendRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>, NotificationsMetrics, TimeProvider>((limiter, limits, metrics, time) =>
        {
            var perMinute = limits.Value.SendsPerMinute;
            limiter.AddPolicy(SendsPolicy, context =>
                perMinute > 0 && context.User.FindFirstValue(AuthSetup.UserIdClaim) is { } sender
                    ? RateLimitPartition.Get(sender, _ => HubRateLimitFilter.PerMinute(perMinute, time))
                    : RateLimitPartition.GetNoLimiter(string.Empty));
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (rejected, _) =>
            {
                metrics.RateLimited("rest");
                var seconds = HubRateLimitFilter.RetryAfterSeconds(rejected.Lease);
                var http = rejected.HttpContext;
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"At most {perMinute} sends per minute per sender; retry in {seconds} s.",
                    },
                });
            };
        });
        return services;
    }
}
