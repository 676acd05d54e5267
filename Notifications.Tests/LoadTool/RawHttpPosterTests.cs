extern alias LoadTool;

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LoadTool::Notifications.LoadTest.Client;
using LoadTool::Notifications.LoadTest.Http;

namespace Notifications.Tests.LoadTool;

/// <summary>
/// The load tool's hand-written HTTP/1.1 POST, against a socket that answers with canned responses: the framings
/// Kestrel uses (Content-Length, chunked), Retry-After, Connection: close and a server that hangs up.
/// </summary>
public sealed class RawHttpPosterTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Reads_a_chunked_body_split_across_chunks_and_reuses_the_connection()
    {
        await using var server = new CannedServer(
            "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"id\"\r\n6;ext=1\r\n:42,\"x\r\n4\r\n\":1}\r\n0\r\n\r\n",
            "HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\n{\"id\":43}");
        using var poster = new RawHttpPoster(await server.EndpointAsync());

        var first = await PostAsync(poster);
        var second = await PostAsync(poster);

        Assert.Equal((201, "{\"id\":42,\"x\":1}", 0.0), (first.Status, first.Result, first.RetryAfterSeconds));
        Assert.Equal((201, "{\"id\":43}"), (second.Status, second.Result));
        Assert.Equal(1, server.Accepted);
        Assert.All(server.Requests, r => Assert.Contains("Content-Length: 13\r\n\r\n{\"seq\":\"abc\"}", r, StringComparison.Ordinal));
        Assert.StartsWith("POST /api/notifications HTTP/1.1\r\n", server.Requests[0], StringComparison.Ordinal);
        Assert.Contains("\r\nAuthorization: Bearer token-1\r\n", server.Requests[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refusal_keeps_its_status_and_retry_after_and_connection_close_opens_a_new_socket()
    {
        await using var server = new CannedServer(
            "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
            "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}");
        using var poster = new RawHttpPoster(await server.EndpointAsync());

        var refused = await PostAsync(poster);
        var next = await PostAsync(poster);

        Assert.Equal((429, 7.0), (refused.Status, refused.RetryAfterSeconds));
        Assert.Equal(201, next.Status);
        Assert.Equal(2, server.Accepted);
    }

    [Fact]
    public async Task A_server_that_hangs_up_mid_response_is_an_io_error()
    {
        await using var server = new CannedServer("HTTP/1.1 201 Created\r\nContent-Length: 50\r\n\r\n{\"id\"");
        using var poster = new RawHttpPoster(await server.EndpointAsync());

        await Assert.ThrowsAsync<IOException>(() => PostAsync(poster));
    }

    [Fact]
    public async Task A_get_after_a_post_has_no_body_and_says_when_its_response_reached_the_socket()
    {
        const string Count = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"count\":3}";
        await using var server = new CannedServer(["HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", .. Enumerable.Repeat(Count, 50)]);
        using var poster = new RawHttpPoster(await server.EndpointAsync());

        var posted = await PostAsync(poster);
        // The kernel starts stamping a moment after the first socket asks for it: the first responses may have no stamp.
        RawResponse<string> got = default;
        long before = 0, after = 0;
        for (var attempt = 0; attempt < 50 && got.ArrivedAt == 0; attempt++)
        {
            await Task.Delay(attempt == 0 ? 0 : 20);
            before = Stopwatch.GetTimestamp();
            got = await poster.GetAsync("/api/notifications/unread-count", "token-2", static (_, body) => Encoding.UTF8.GetString(body),
                CancellationToken.None).WaitAsync(Timeout);
            after = Stopwatch.GetTimestamp();
        }

        Assert.Equal((201, 0L), (posted.Status, posted.ArrivedAt));
        Assert.Equal((200, "{\"count\":3}"), (got.Status, got.Result));
        Assert.InRange(got.ArrivedAt, before - (Stopwatch.Frequency / 500), after);
        Assert.Equal(1, server.Accepted);
        var get = server.Requests[1];
        Assert.StartsWith("GET /api/notifications/unread-count HTTP/1.1\r\n", get, StringComparison.Ordinal);
        Assert.Contains("\r\nAuthorization: Bearer token-2\r\n\r\n", get, StringComparison.Ordinal);
        Assert.DoesNotContain("Content-", get, StringComparison.Ordinal);
    }

    private static Task<RawResponse<string>> PostAsync(RawHttpPoster poster) =>
        poster.PostAsync("/api/notifications", "token-1", "abc", static (w, seq) =>
            {
                w.WriteStartObject();
                w.WriteString("seq", seq);
                w.WriteEndObject();
            },
            static (_, body) => Encoding.UTF8.GetString(body), CancellationToken.None).WaitAsync(Timeout);

    /// <summary>Answers each request it reads with the next canned response, and closes after the last one.</summary>
    private sealed class CannedServer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly Queue<string> _responses;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _serving;

        public CannedServer(params string[] responses)
        {
            _responses = new Queue<string>(responses);
            _listener.Start();
            _serving = ServeAsync();
        }

        public int Accepted { get; private set; }

        public List<string> Requests { get; } = [];

        public Task<HubEndpoint> EndpointAsync() =>
            HubEndpoint.ResolveAsync("http://127.0.0.1:" + ((IPEndPoint)_listener.LocalEndpoint).Port, "/hubs/notifications");

        private async Task ServeAsync()
        {
            try
            {
                while (_responses.Count > 0)
                {
                    using var socket = await _listener.AcceptSocketAsync(_stop.Token);
                    Accepted++;
                    while (_responses.Count > 0 && await ReadRequestAsync(socket) is { } request)
                    {
                        Requests.Add(request);
                        var response = _responses.Dequeue();
                        await socket.SendAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
                        if (response.Contains("Connection: close", StringComparison.Ordinal))
                        {
                            break;
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException || _stop.IsCancellationRequested)
            {
                // Stopped while responses were left: the accept or read in progress fails in whichever way it was.
            }
        }

        // Reads one request: the head, then as many body bytes as its Content-Length says.
        private async Task<string?> ReadRequestAsync(Socket socket)
        {
            var received = new List<byte>();
            var buffer = new byte[4096];
            while (true)
            {
                var text = Encoding.ASCII.GetString(received.ToArray());
                var headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (headEnd >= 0)
                {
                    var lengthLine = text[..headEnd].Split("\r\n").SingleOrDefault(l => l.StartsWith("Content-Length: ", StringComparison.Ordinal));
                    var length = lengthLine is null ? 0 : int.Parse(lengthLine["Content-Length: ".Length..], System.Globalization.CultureInfo.InvariantCulture);
                    if (received.Count - headEnd - 4 >= length)
                    {
                        return text;
                    }
                }

                var read = await socket.ReceiveAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return null;
                }

                received.AddRange(buffer.AsSpan(0, read));
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listener.Stop();
            await _serving.WaitAsync(Timeout);
            _stop.Dispose();
        }
    }
}
