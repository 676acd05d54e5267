using System.Net;
using System.Net.Sockets;
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

        var handshake = await HandshakeAsync(socket);
        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WithTimeout(what: "the WebSocket close");
        return (socket.HttpStatusCode, handshake);
    }

    /// <summary>An open hub socket speaking the JSON protocol, past its handshake, to read what the server writes.</summary>
    public static async Task<ClientWebSocket> ConnectAsync(Uri serviceBaseUri, string token)
    {
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(new Uri(serviceBaseUri, "hubs/notifications")) { Scheme = "ws", Query = $"access_token={Uri.EscapeDataString(token)}" }.Uri;
        await socket.ConnectAsync(uri, CancellationToken.None).WithTimeout(what: "the WebSocket upgrade");
        Assert.Equal("{}", await HandshakeAsync(socket));
        return socket;
    }

    /// <summary>
    /// An open hub socket past its handshake whose TCP receive buffer is small (set before connecting, which keeps the
    /// kernel from growing it), so that the pushes a test leaves unread fill it soon. Dispose the invoker after the socket.
    /// </summary>
    public static async Task<(ClientWebSocket Socket, HttpMessageInvoker Invoker)> ConnectWithSmallReceiveBufferAsync(Uri serviceBaseUri, string token)
    {
        var invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                var tcp = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                try
                {
                    await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(tcp, ownsSocket: true);
                }
                catch
                {
                    tcp.Dispose();
                    throw;
                }
            },
        });
        var socket = new ClientWebSocket();
        var uri = new UriBuilder(new Uri(serviceBaseUri, "hubs/notifications")) { Scheme = "ws", Query = $"access_token={Uri.EscapeDataString(token)}" }.Uri;
        await socket.ConnectAsync(uri, invoker, CancellationToken.None).WithTimeout(what: "the WebSocket upgrade");
        Assert.Equal("{}", await HandshakeAsync(socket));
        return (socket, invoker);
    }

    /// <summary>One whole WebSocket message: every SignalR record the server wrote to the socket in one go.</summary>
    public static async Task<string> ReceiveMessageAsync(ClientWebSocket socket, TimeSpan? timeout = null)
    {
        var text = new StringBuilder();
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult received;
        do
        {
            received = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout(timeout, "a WebSocket message");
            text.Append(Encoding.UTF8.GetString(buffer, 0, received.Count));
        }
        while (!received.EndOfMessage);
        return text.ToString();
    }

    /// <summary>The handshake response without its record separator.</summary>
    private static async Task<string> HandshakeAsync(ClientWebSocket socket)
    {
        await socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, true, CancellationToken.None).WithTimeout(what: "the handshake");
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None).WithTimeout(what: "the handshake response");
        return Encoding.UTF8.GetString(buffer, 0, received.Count).TrimEnd('\u001e');
    }
}
