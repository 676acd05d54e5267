using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// The hub's WebSocket opened the way browsers open it with skipNegotiation: no negotiate, the token in the query
/// string, an Origin header if given. Shows what the upgrade itself lets through, which the SignalR client hides.
/// </summary>
public static class RawHubSocket
{
    /// <summary>
    /// The upgrade's HTTP status and, when the upgrade succeeded, the SignalR handshake response (without its
    /// record separator); null when the upgrade was refused.
    /// </summary>
    public static async Task<(HttpStatusCode Status, string? Handshake)> OpenAsync(Uri serviceBaseUri, string token, string? origin = null)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var uri = new UriBuilder(new Uri(serviceBaseUri, "hubs/notifications")) { Scheme = "ws", Query = $"access_token={Uri.EscapeDataString(token)}" }.Uri;
        try
        {
            await socket.ConnectAsync(uri, CancellationToken.None).WithTimeout(what: "the WebSocket upgrade");
        }
        catch (WebSocketException)
        {
            return (socket.HttpStatusCode, null);
        }

        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout(what: "the handshake");
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout(what: "the handshake response");
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WithTimeout(what: "the WebSocket close");
        return (socket.HttpStatusCode, Encoding.UTF8.GetString(buffer, 0, received.Count).TrimEnd('\u001e'));
    }
}
