using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Notifications.Api.Hardening;

/// <summary>
/// Caps live hub connections per user on this instance (<c>Limits:MaxConnectionsPerUser</c>) and counts the open
/// ones for the <c>notifications.connections.active</c> metric. A connection over the cap is closed right after the
/// handshake with a HubException naming the limit; SignalR tells the client not to reconnect.
/// </summary>
public sealed class ConnectionLimitFilter(IOptions<LimitsOptions> options, NotificationsMetrics metrics, ILogger<ConnectionLimitFilter> logger) : IHubFilter
{
    private readonly Dictionary<string, int> perUser = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> holders = new(StringComparer.Ordinal);
    private readonly Lock gate = new();

    public async Task OnConnectedAsync(HubLifetimeContext context, Func<HubLifetimeContext, Task> next)
    {
        var connectionId = context.Context.ConnectionId;
        var user = context.Context.UserIdentifier ?? connectionId;
        var max = options.Value.MaxConnectionsPerUser;
        if (!TryTake(user, connectionId, max))
        {
            metrics.ConnectionRefused();
            logger.LogWarning("Refused a hub connection of user {UserId}: it already holds {Max} connections (Limits:MaxConnectionsPerUser)", user, max);
            throw new HubException($"Too many connections: a user may hold at most {max} hub connections at once. Close another connection (tab, device) and connect again.");
        }

        try
        {
            await next(context);
        }
        catch
        {
            // SignalR does not call OnDisconnectedAsync after a failed OnConnectedAsync: give the slot back here.
            Release(connectionId);
            throw;
        }

        metrics.ConnectionOpened();
    }

    public async Task OnDisconnectedAsync(HubLifetimeContext context, Exception? exception, Func<HubLifetimeContext, Exception?, Task> next)
    {
        try
        {
            await next(context, exception);
        }
        finally
        {
            if (Release(context.Context.ConnectionId))
            {
                metrics.ConnectionClosed();
            }
        }
    }

    private bool TryTake(string user, string connectionId, int max)
    {
        lock (gate)
        {
            var held = perUser.GetValueOrDefault(user);
            if (held >= max)
            {
                return false;
            }

            perUser[user] = held + 1;
            holders[connectionId] = user;
            return true;
        }
    }

    private bool Release(string connectionId)
    {
        lock (gate)
        {
            if (!holders.Remove(connectionId, out var user))
            {
                return false;
            }

            if (--perUser[user] == 0)
            {
                perUser.Remove(user);
            }

            return true;
        }
    }
}
