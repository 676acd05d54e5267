extern alias LoadTool;

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using LoadTool::Notifications.LoadTest.Client;

namespace Notifications.Tests.LoadTool;

/// <summary>
/// The load tool's kernel receive stamps (S3's "at the socket" latency) over a real loopback TCP connection: the stamp
/// is when the bytes arrived, not when they were looked at, and looking does not consume them. The suite runs on Linux,
/// where the stamps exist.
/// </summary>
public sealed class SocketArrivalTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly long Tolerance = Stopwatch.Frequency / 500; // 2 ms: the realtime-to-monotonic conversion

    [Fact]
    public async Task The_stamp_is_when_the_bytes_reached_the_socket_and_the_bytes_stay_unread()
    {
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            Assert.True(SocketArrival.TryEnable(client));
            await UntilPacketsAreStampedAsync(client, server);

            var beforeSend = Stopwatch.GetTimestamp();
            await server.SendAsync("hello"u8.ToArray());
            var afterSend = Stopwatch.GetTimestamp();
            await WaitForDataAsync(client);
            await Task.Delay(50);

            var arrived = SocketArrival.PeekTicks(client);

            Assert.InRange(arrived, beforeSend - Tolerance, afterSend + Tolerance);
            Assert.True(Stopwatch.GetTimestamp() - arrived >= Stopwatch.Frequency / 25, "the stamp is the arrival, not the peek");
            var buffer = new byte[16];
            using var cts = new CancellationTokenSource(Timeout);
            var n = await client.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            Assert.Equal("hello", System.Text.Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    [Fact]
    public async Task Nothing_queued_or_a_socket_that_did_not_ask_gives_no_stamp()
    {
        var (client, server) = await ConnectedPairAsync();
        using (client)
        using (server)
        {
            Assert.Equal(0, SocketArrival.PeekTicks(client));

            await client.SendAsync("ping"u8.ToArray());
            await WaitForDataAsync(server);

            Assert.Equal(0, SocketArrival.PeekTicks(server));
            Assert.Equal(4, server.Available);
        }
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Timeout);
        await client.ConnectAsync(listener.LocalEndPoint!, cts.Token);
        var server = await listener.AcceptAsync(cts.Token);
        server.NoDelay = true;
        return (client, server);
    }

    /// <summary>The kernel switches stamping on a moment after the first socket asks (deferred work).</summary>
    private static async Task UntilPacketsAreStampedAsync(Socket receiver, Socket sender)
    {
        var buffer = new byte[1];
        for (var attempt = 0; attempt < 100; attempt++)
        {
            await sender.SendAsync(buffer);
            await WaitForDataAsync(receiver);
            var stamped = SocketArrival.PeekTicks(receiver) != 0;
            using var cts = new CancellationTokenSource(Timeout);
            await receiver.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (stamped)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail("the kernel never stamped a received packet");
    }

    private static async Task WaitForDataAsync(Socket socket)
    {
        var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 10);
        while (socket.Available == 0)
        {
            Assert.True(Stopwatch.GetTimestamp() < deadline, "the bytes never arrived");
            await Task.Delay(5);
        }
    }
}
