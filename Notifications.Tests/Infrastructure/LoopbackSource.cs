using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Http.Connections.Client;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// Makes a SignalR client connect from a chosen loopback address (all of 127/8 is loopback on Linux). nginx's ip_hash
/// keys on the first three octets, so clients from 127.0.1.1, 127.0.2.1, … spread over the instances as real
/// clients from different networks would.
/// </summary>
public static class LoopbackSource
{
    /// <summary>127.0.<paramref name="network"/>.1: one /24 per value, so one ip_hash key per value.</summary>
    public static IPAddress Network(int network) => new([127, 0, (byte)network, 1]);

    /// <summary>
    /// Negotiate, LongPolling and SSE requests and the WebSocket all leave from <paramref name="source"/>. The
    /// WebSocket factory sends the token as a header itself (a custom factory does not get SignalR's token).
    /// </summary>
    public static void Apply(HttpConnectionOptions options, IPAddress source, Func<string> token)
    {
        // A new handler each time: SignalR disposes the one it was given when a connection ends, and a reconnect asks again.
        options.HttpMessageHandlerFactory = _ => Handler(source);
        options.WebSocketFactory = async (context, cancellationToken) =>
        {
            var socket = new ClientWebSocket();
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token()}");
            try
            {
                await socket.ConnectAsync(context.Uri, new HttpMessageInvoker(Handler(source)), cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            return socket;
        };
    }

    public static HttpClient HttpClient(IPAddress source, Uri baseUri) => new(Handler(source)) { BaseAddress = baseUri, Timeout = Timeouts.Default };

    private static SocketsHttpHandler Handler(IPAddress source) => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(source, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };
}
