using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Notifications.LoadTest.Client;

namespace Notifications.LoadTest.Http;

/// <summary>
/// What came back from a hand-written request: status, what the caller read from the body, Retry-After in seconds (0 when
/// absent) and, when asked for, the Stopwatch timestamp at which the response's first bytes reached the socket (0 otherwise).
/// </summary>
public readonly record struct RawResponse<TResult>(int Status, TResult Result, double RetryAfterSeconds, long ArrivedAt = 0);

/// <summary>Reads what the caller needs from a response body, which is only valid during the call.</summary>
public delegate TResult ResponseReader<out TResult>(int status, ReadOnlySpan<byte> body);

/// <summary>
/// JSON POSTs and GETs over kept-alive HTTP/1.1 sockets, written and parsed by hand, one request at a time per socket.
/// The tool shares the box's cores with the server it measures, and in S4 HttpClient's per-request work (a request
/// message, header collections, content objects, linked cancellation, its pool) cost the tool about as much CPU per
/// send as reading the receipt. Plain http only: <see cref="SendApi"/> keeps HttpClient for TLS and its other calls.
/// </summary>
public sealed class RawHttpPoster(HubEndpoint endpoint) : IDisposable
{
    // Kestrel drops a connection idle for 130 s; one idle for less than this is safe to reuse without a retry.
    private static readonly TimeSpan ReuseWithin = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly ConcurrentStack<Connection> _idle = new();
    private volatile bool _disposed;

    /// <summary>Posts the JSON body that <paramref name="writeBody"/> writes; a socket error or timeout throws <see cref="IOException"/>.</summary>
    public Task<RawResponse<TResult>> PostAsync<TState, TResult>(string path, string bearerToken, TState state,
        Action<Utf8JsonWriter, TState> writeBody, ResponseReader<TResult> readBody, CancellationToken ct) =>
        RequestAsync(path, bearerToken, state, writeBody, readBody, stampArrival: false, ct);

    /// <summary>
    /// GETs <paramref name="path"/>; the response carries when its first bytes reached the socket where the kernel stamps
    /// them (<see cref="SocketArrival"/>), at the cost of one more system call per request.
    /// </summary>
    public Task<RawResponse<TResult>> GetAsync<TResult>(string path, string bearerToken, ResponseReader<TResult> readBody, CancellationToken ct) =>
        RequestAsync<object?, TResult>(path, bearerToken, null, null, readBody, stampArrival: true, ct);

    private async Task<RawResponse<TResult>> RequestAsync<TState, TResult>(string path, string bearerToken, TState state,
        Action<Utf8JsonWriter, TState>? writeBody, ResponseReader<TResult> readBody, bool stampArrival, CancellationToken ct)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = Rent();
        try
        {
            var (status, body, retryAfter, arrivedAt) = await connection.SendAsync(endpoint, path, bearerToken, state, writeBody, stampArrival, ct);
            var response = new RawResponse<TResult>(status, readBody(status, body.Span), retryAfter, arrivedAt);
            if (connection.KeepAlive && !_disposed)
            {
                _idle.Push(connection);
            }
            else
            {
                connection.Dispose();
            }

            return response;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private Connection Rent()
    {
        while (_idle.TryPop(out var c))
        {
            if (Stopwatch.GetElapsedTime(c.LastUsed) < ReuseWithin)
            {
                return c;
            }

            c.Dispose();
        }

        return new Connection();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryPop(out var c))
        {
            c.Dispose();
        }
    }

    private sealed class Connection : IDisposable
    {
        private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

        private readonly ArrayBufferWriter<byte> _request = new(1024);
        private readonly ArrayBufferWriter<byte> _body = new(1024);
        private readonly Utf8JsonWriter _json;
        private readonly CancellationTokenSource _timeout = new();
        private byte[] _response = new byte[4096];
        private Socket? _socket;
        private string? _headPath;
        private string? _headToken;
        private bool _headHasBody;
        private bool _stamps;
        private byte[] _headPrefix = [];

        public Connection() => _json = new Utf8JsonWriter(_body);

        public long LastUsed { get; private set; } = Stopwatch.GetTimestamp();

        public bool KeepAlive { get; private set; } = true;

        /// <summary>A POST with the JSON body <paramref name="writeBody"/> writes, or a GET when it is null.</summary>
        public async Task<(int Status, ReadOnlyMemory<byte> Body, double RetryAfter, long ArrivedAt)> SendAsync<TState>(HubEndpoint ep, string path,
            string token, TState state, Action<Utf8JsonWriter, TState>? writeBody, bool stampArrival, CancellationToken ct)
        {
            using var cancel = ct.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _timeout);
            _timeout.CancelAfter(RequestTimeout);
            try
            {
                if (_socket is null)
                {
                    _socket = new Socket(ep.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    await _socket.ConnectAsync(ep.Ip, _timeout.Token);
                }

                if (stampArrival && !_stamps)
                {
                    _stamps = SocketArrival.TryEnable(_socket);
                }

                var request = BuildRequest(ep, path, token, state, writeBody);
                while (request.Length > 0)
                {
                    var sent = await _socket.SendAsync(request, SocketFlags.None, _timeout.Token);
                    request = request[sent..];
                }

                var arrivedAt = 0L;
                if (stampArrival && _stamps)
                {
                    // Wait for the first bytes without taking them, so that the stamp is read before anything else.
                    await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None, _timeout.Token);
                    arrivedAt = SocketArrival.PeekTicks(_socket);
                }

                var (status, body, retryAfter) = await ReadResponseAsync(_timeout.Token);
                LastUsed = Stopwatch.GetTimestamp();
                return (status, body, retryAfter, arrivedAt);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new IOException("no response within " + RequestTimeout.TotalSeconds + " s");
            }
            catch (SocketException ex)
            {
                throw new IOException(ex.Message, ex);
            }
            finally
            {
                if (!_timeout.TryReset())
                {
                    KeepAlive = false;
                }
            }
        }

        private ReadOnlyMemory<byte> BuildRequest<TState>(HubEndpoint ep, string path, string token, TState state,
            Action<Utf8JsonWriter, TState>? writeBody)
        {
            // The body first, because its length goes into the head.
            _body.ResetWrittenCount();
            var hasBody = writeBody is not null;
            if (hasBody)
            {
                _json.Reset(_body);
                writeBody!(_json, state);
                _json.Flush();
            }

            // The head up to the length is the same for every request with this method, path and token (the same strings, usually).
            if (!string.Equals(_headPath, path, StringComparison.Ordinal) || !string.Equals(_headToken, token, StringComparison.Ordinal) ||
                _headHasBody != hasBody)
            {
                _headPrefix = Encoding.ASCII.GetBytes(
                    (hasBody ? "POST " : "GET ") + path + " HTTP/1.1\r\nHost: " + ep.HostHeader + "\r\nAuthorization: Bearer " + token +
                    (hasBody ? "\r\nContent-Type: application/json\r\nContent-Length: " : string.Empty));
                (_headPath, _headToken, _headHasBody) = (path, token, hasBody);
            }

            _request.ResetWrittenCount();
            _request.Write(_headPrefix);
            if (hasBody)
            {
                var digits = _request.GetSpan(20);
                Utf8Formatter.TryFormat(_body.WrittenCount, digits, out var written);
                _request.Advance(written);
            }

            _request.Write(HeaderEnd);
            _request.Write(_body.WrittenSpan);
            return _request.WrittenMemory;
        }

        private async Task<(int Status, ReadOnlyMemory<byte> Body, double RetryAfter)> ReadResponseAsync(CancellationToken ct)
        {
            var filled = 0;
            int headEnd;
            while ((headEnd = _response.AsSpan(0, filled).IndexOf(HeaderEnd)) < 0)
            {
                filled = await FillAsync(filled, ct);
            }

            var head = ParseHead(_response.AsSpan(0, headEnd));
            var bodyStart = headEnd + HeaderEnd.Length;
            KeepAlive = !head.Close;
            if (head.Chunked)
            {
                return (head.Status, await ReadChunkedAsync(bodyStart, filled, ct), head.RetryAfter);
            }

            var length = head.ContentLength;
            while (filled - bodyStart < length)
            {
                filled = await FillAsync(filled, ct);
            }

            if (filled - bodyStart > length)
            {
                throw new IOException("bytes after the response");
            }

            return (head.Status, _response.AsMemory(bodyStart, length), head.RetryAfter);
        }

        // Decodes the chunks in place, over the chunk-size lines, so the body ends up contiguous at bodyStart.
        private async Task<ReadOnlyMemory<byte>> ReadChunkedAsync(int bodyStart, int filled, CancellationToken ct)
        {
            var bodyEnd = bodyStart;
            var at = bodyStart;
            while (true)
            {
                int lineEnd;
                while ((lineEnd = _response.AsSpan(at, filled - at).IndexOf("\r\n"u8)) < 0)
                {
                    filled = await FillAsync(filled, ct);
                }

                var sizeText = _response.AsSpan(at, lineEnd);
                var semicolon = sizeText.IndexOf((byte)';');
                if (semicolon >= 0)
                {
                    sizeText = sizeText[..semicolon];
                }

                if (!Utf8Parser.TryParse(sizeText, out int size, out var used, 'x') || used != sizeText.Length || size < 0)
                {
                    throw new IOException("bad chunk size");
                }

                var dataStart = at + lineEnd + 2;
                while (filled - dataStart < size + 2)
                {
                    filled = await FillAsync(filled, ct);
                }

                if (size == 0)
                {
                    // No trailers from Kestrel here: the last chunk is "0\r\n\r\n".
                    if (filled != dataStart + 2)
                    {
                        throw new IOException("bytes after the response");
                    }

                    return _response.AsMemory(bodyStart, bodyEnd - bodyStart);
                }

                _response.AsSpan(dataStart, size).CopyTo(_response.AsSpan(bodyEnd));
                bodyEnd += size;
                at = dataStart + size + 2;
            }
        }

        private async ValueTask<int> FillAsync(int filled, CancellationToken ct)
        {
            if (filled == _response.Length)
            {
                if (_response.Length >= 1 << 20)
                {
                    throw new IOException("response too large");
                }

                Array.Resize(ref _response, _response.Length * 2);
            }

            var read = await _socket!.ReceiveAsync(_response.AsMemory(filled), SocketFlags.None, ct);
            if (read == 0)
            {
                throw new IOException("connection closed before the response ended");
            }

            return filled + read;
        }

        private static (int Status, int ContentLength, bool Chunked, bool Close, double RetryAfter) ParseHead(ReadOnlySpan<byte> head)
        {
            var lineEnd = head.IndexOf("\r\n"u8);
            var statusLine = lineEnd < 0 ? head : head[..lineEnd];
            if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1.1 "u8) ||
                !Utf8Parser.TryParse(statusLine.Slice(9, 3), out int status, out _))
            {
                throw new IOException("bad status line");
            }

            int contentLength = 0;
            bool chunked = false, close = false;
            double retryAfter = 0;
            var rest = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOf("\r\n"u8);
                var line = end < 0 ? rest : rest[..end];
                rest = end < 0 ? [] : rest[(end + 2)..];
                var colon = line.IndexOf((byte)':');
                if (colon <= 0)
                {
                    continue;
                }

                var name = line[..colon];
                var value = line[(colon + 1)..].Trim((byte)' ');
                if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
                {
                    if (!Utf8Parser.TryParse(value, out contentLength, out _) || contentLength < 0)
                    {
                        throw new IOException("bad Content-Length");
                    }
                }
                else if (Ascii.EqualsIgnoreCase(name, "Transfer-Encoding"u8))
                {
                    chunked = Ascii.EqualsIgnoreCase(value, "chunked"u8);
                }
                else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
                {
                    close = Ascii.EqualsIgnoreCase(value, "close"u8);
                }
                else if (Ascii.EqualsIgnoreCase(name, "Retry-After"u8) && Utf8Parser.TryParse(value, out double seconds, out _))
                {
                    retryAfter = seconds;
                }
            }

            return (status, contentLength, chunked, close, retryAfter);
        }

        public void Dispose()
        {
            KeepAlive = false;
            _socket?.Dispose();
            _timeout.Dispose();
            _json.Dispose();
        }
    }
}
