using System.Data.Common;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Domain;

namespace Notifications.Api.Hubs;

/// <summary>Turns rule violations and store outages into HubExceptions with a message the client can show.</summary>
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
        catch (Exception ex) when (IsStoreFailure(ex))
        {
            logger.LogWarning("Hub method {Method} failed: the notification store is unavailable ({Error})", invocationContext.HubMethodName, ex.GetType().Name);
            throw new HubException("The notification store is unavailable; try again shortly.");
        }
    }

    // Anywhere in the chain: a failed SaveChanges on Npgsql arrives as InvalidOperationException ("transient
    // failure") wrapping DbUpdateException wrapping NpgsqlException.
    public static bool IsStoreFailure(Exception ex) =>
        ex is DbException or DbUpdateException or TimeoutException or InvalidOperationException { InnerException: DbException }
        || (ex.InnerException is { } inner && IsStoreFailure(inner));
}
