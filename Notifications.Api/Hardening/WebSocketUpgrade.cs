using Microsoft.AspNetCore.Http.Features;

namespace Notifications.Api.Hardening;

/// <summary>
/// Whether a request asks to become a WebSocket, read from the request itself. <c>WebSockets.IsWebSocketRequest</c>
/// answers only behind the WebSocket middleware, which SignalR adds inside its own endpoint, after ours.
/// </summary>
public static class WebSocketUpgrade
{
    public static bool IsRequested(HttpContext context)
    {
        if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
        {
            return string.Equals(connect.Protocol, "websocket", StringComparison.OrdinalIgnoreCase);
        }

        if (context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true })
        {
            return false;
        }

        foreach (var upgrade in context.Request.Headers.Upgrade)
        {
            if (upgrade is not null && upgrade.Contains("websocket", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
