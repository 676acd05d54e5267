using Microsoft.AspNetCore.SignalR;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Hubs;

/// <summary>
/// Turns rule violations and store outages into HubExceptions with a message the client can show. Anything else,
/// a data error in the store included, reaches the client as SignalR's generic error and is logged by SignalR.
/// </summary>
public sealed class HubErrorFilter(ILogger<HubErrorFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        try
        {
            return await next(invocationContext);
        }
        catch (DomainException ex)
        {
            throw new HubException(ex.Message);
        }
        catch (Exception ex) when (StoreFailures.IsUnavailable(ex))
        {
            logger.LogWarning("Hub method {Method} failed: the notification store is unavailable ({Error})", invocationContext.HubMethodName, ex.GetType().Name);
            throw new HubException("The notification store is unavailable; try again shortly.");
        }
    }
}
