using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder on a free loopback port in front of a server on another. <see cref="Cut"/> resets every link through
/// it and refuses new ones until <see cref="Restore"/>, while the server and the client stay up: a network partition
/// between one client (an instance) and the server (Redis), which the others still reach.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly int targetPort;
    private readonly ConcurrentDictionary<Socket, byte> open = new();
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;
    private volatile bool cut;

    public TcpForwarder(int targetPort)
    {
        this.targetPort = targetPort;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        accepting = Task.Run(AcceptAsync);
    }

    public int Port { get; }

    /// <summary>Resets every forwarded link; links made until <see cref="Restore"/> are reset at once.</summary>
    public void Cut()
    {
        cut = true;
        foreach (var socket in open.Keys)
        {
            Reset(socket);
        }
    }

    public void Restore() => cut = false;

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        Cut();
        await accepting.WithTimeout(what: "the forwarder to stop accepting");
        stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client);
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        if (cut)
        {
            Reset(client);
            return;
        }

        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await server.ConnectAsync(new IPEndPoint(IPAddress.Loopback, targetPort), stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The server is down (Redis killed): the client sees its link drop, as it would without the forwarder.
            Reset(client);
            Reset(server);
            return;
        }

        open[client] = 0;
        open[server] = 0;
        if (cut)
        {
            // Cut while connecting: Cut may not have seen these two.
            Reset(client);
            Reset(server);
            return;
        }

        await Task.WhenAny(PumpAsync(client, server), PumpAsync(server, client));
        Reset(client);
        Reset(server);
    }

    private static async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0)
                {
                    return;
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Reset by Cut, or by the other end.
        }
    }

    /// <summary>Closes with a reset (linger 0), as a broken link looks to both ends, rather than an orderly close.</summary>
    private void Reset(Socket socket)
    {
        open.TryRemove(socket, out _);
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }
}
