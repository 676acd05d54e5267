using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Client;

/// <summary>
/// A lean SignalR client: one socket, a hand-written HTTP/1.1 upgrade (skipNegotiation: WebSocket straight to the hub
/// path with ?access_token=), a minimal RFC 6455 frame layer (masked client frames, pong on ping, fragments joined)
/// and the JSON or MessagePack hub protocol (<see cref="ClientContext.Protocol"/>). While idle it holds no buffer: it
/// waits with a zero-byte read and rents a pooled buffer only while reading; one read handles every frame that arrived.
/// </summary>
public sealed class HubClient : IHubMessageSink
{
    private const int Idle = 0;
    private const int Connecting = 1;
    private const int Open = 2;
    private const int Closing = 3;
    private const int ReceiveChunk = 4096;
    private const int MaxMessage = 16 * 1024 * 1024;

    private const byte OpContinuation = 0x0;
    private const byte OpText = 0x1;
    private const byte OpBinary = 0x2;
    private const byte OpClose = 0x8;
    private const byte OpPing = 0x9;
    private const byte OpPong = 0xA;

    private readonly ClientContext _ctx;
    private Stream? _stream;
    private Socket? _socket;
    private byte[]? _carry;
    private int _carryLength;
    private int _needed;
    private byte[]? _message;
    private int _messageLength;
    private MessagePackFrameReader? _messagePack;
    private bool _handshakeDone;
    private string? _handshakeError;
    private Task _loop = Task.CompletedTask;
    private int _state;
    private int _sending;
    private long _lastSend;
    private byte[]? _partial;
    private int _partialLength;
    private PendingInvocation? _pending;
    private int _invocationSeq;
    private bool _tls;
    private int _stamps; // 0: not asked yet, 1: the kernel stamps this socket's packets, -1: it cannot
    private long _arrivedAt;

    public HubClient(ClientContext ctx, int index)
    {
        _ctx = ctx;
        Index = index;
    }

    public int Index { get; }

    /// <summary>Highest notification id seen (pushed or synced): what Sync(afterId) resumes from.</summary>
    public long MaxId;

    /// <summary>Ids received, only when <see cref="ClientContext.TrackIds"/>.</summary>
    public List<long>? Ids { get; private set; }

    public string? LastError { get; private set; }

    public bool IsOpen => Volatile.Read(ref _state) == Open;

    public string UserId => Auth.JwtMinter.UserId(Index);

    public async Task ConnectAsync(CancellationToken ct)
    {
        if (Interlocked.CompareExchange(ref _state, Connecting, Idle) != Idle)
        {
            throw new InvalidOperationException("client is not idle");
        }

        Socket? socket = null;
        Stream? stream = null;
        try
        {
            var ep = _ctx.EndpointFor(Index);
            socket = new Socket(ep.Ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var source = _ctx.SourceFor(Index);
            if (source is not null)
            {
                TryBindAddressNoPort(socket);
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(ep.Ip, ct);
            stream = new NetworkStream(socket, ownsSocket: true);
            if (ep.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                stream = ssl;
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = ep.Host }, ct);
            }

            stream = await UpgradeAsync(stream, ep, _ctx.Minter.ForUser(Index), ct);
            _tls = ep.Tls;
            _stamps = 0;
            _stream = stream;
            _socket = socket;
            _handshakeError = null;
            _handshakeDone = false;
            var json = _ctx.Protocol == HubProtocolKind.Json;
            _messagePack = json ? null : new MessagePackFrameReader(MaxMessage);
            await WriteFrameAsync(json ? OpText : OpBinary, json ? JsonHandshake : MessagePackHandshake, ct);
            while (!_handshakeDone)
            {
                if (!await ReadBatchAsync(ct))
                {
                    // A refusal (e.g. a protocol the server does not accept) and the close can come in one read.
                    throw new HubConnectException(_handshakeError is not null
                        ? "handshake rejected: " + _handshakeError
                        : "connection closed " + (_handshakeDone ? "right after" : "before") + " the handshake response");
                }
            }

            if (_handshakeError is not null)
            {
                throw new HubConnectException("handshake rejected: " + _handshakeError);
            }

            _lastSend = Stopwatch.GetTimestamp();
            Volatile.Write(ref _state, Open);
            _ctx.OnConnected();
            _loop = ReceiveLoopAsync();
        }
        catch (Exception ex)
        {
            LastError = Describe(ex);
            _stream = null;
            _socket = null;
            ResetBuffers();
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }

            socket?.Dispose();
            Volatile.Write(ref _state, Idle);
            throw;
        }
    }

    /// <summary>Drops the connection abruptly (RST, no close handshake) and waits for the receive loop to end.</summary>
    public Task AbortAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open)
        {
            return _loop;
        }

        var socket = _socket;
        try
        {
            socket?.LingerState = new LingerOption(true, 0);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        socket?.Dispose();
        return _loop;
    }

    /// <summary>Sends a hub ping when nothing was sent for <paramref name="idleTicks"/>; skips when a send is in flight.</summary>
    public Task PingIfIdleAsync(long now, long idleTicks)
    {
        if (!IsOpen || now - Volatile.Read(ref _lastSend) < idleTicks)
        {
            return Task.CompletedTask;
        }

        return SendAsync(_ctx.Protocol == HubProtocolKind.Json ? JsonPing : MessagePackPing, skipIfBusy: true);
    }

    /// <summary>Sync(afterId, limit) until hasMore is false; returns total items and the highest id.</summary>
    public async Task<InvocationResult> SyncAllAsync(long afterId, int limit, TimeSpan timeout)
    {
        var total = default(InvocationResult);
        total.Ok = true;
        var after = afterId;
        for (var page = 0; page < 100; page++)
        {
            var r = await InvokeAsync("Sync", after, limit, timeout);
            if (!r.Ok)
            {
                return r;
            }

            total.Items += r.Items;
            total.MaxItemId = Math.Max(total.MaxItemId, r.MaxItemId);
            total.Cursor = r.Cursor;
            if (r.MaxItemId > 0)
            {
                Atomic.Max(ref MaxId, r.MaxItemId);
            }

            if (!r.HasMore || r.Items == 0)
            {
                break;
            }

            after = r.Cursor > after ? r.Cursor : r.MaxItemId;
        }

        return total;
    }

    /// <summary>Invokes a hub method with two numeric arguments (e.g. Sync) and awaits its completion.</summary>
    public async Task<InvocationResult> InvokeAsync(string target, long arg1, long arg2, TimeSpan timeout)
    {
        var id = Interlocked.Increment(ref _invocationSeq);
        var pending = new PendingInvocation(id);
        if (Interlocked.CompareExchange(ref _pending, pending, null) is not null)
        {
            return new InvocationResult { Error = "another invocation is pending" };
        }

        try
        {
            var invocationId = id.ToString(CultureInfo.InvariantCulture);
            var message = _ctx.Protocol == HubProtocolKind.Json
                ? BuildInvocation(target, invocationId, w =>
                {
                    w.WriteNumberValue(arg1);
                    w.WriteNumberValue(arg2);
                })
                : MessagePackHubProtocol.Invocation(target, invocationId, arg1, arg2);
            if (!await SendAsync(message, skipIfBusy: false))
            {
                return new InvocationResult { Error = "send failed (" + (LastError ?? "not connected") + ")" };
            }

            var completed = await Task.WhenAny(pending.Task, Task.Delay(timeout));
            return completed == pending.Task ? pending.Task.Result : new InvocationResult { Error = "timeout" };
        }
        finally
        {
            Interlocked.CompareExchange(ref _pending, null, pending);
        }
    }

    /// <summary>Fire-and-forget invocation (no invocationId), e.g. Ack(ids).</summary>
    public Task<bool> SendAckAsync(IReadOnlyList<long> ids)
    {
        if (_ctx.Protocol == HubProtocolKind.MessagePack)
        {
            return SendAsync(MessagePackHubProtocol.Invocation("Ack", null, ids), skipIfBusy: false);
        }

        var message = BuildInvocation("Ack", null, w =>
        {
            w.WriteStartArray();
            foreach (var id in ids)
            {
                w.WriteNumberValue(id);
            }

            w.WriteEndArray();
        });
        return SendAsync(message, skipIfBusy: false);
    }

    private static byte[] BuildInvocation(string target, string? invocationId, Action<Utf8JsonWriter> writeArguments)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("type"u8, 1);
            if (invocationId is not null)
            {
                w.WriteString("invocationId"u8, invocationId);
            }

            w.WriteString("target"u8, target);
            w.WriteStartArray("arguments"u8);
            writeArguments(w);
            w.WriteEndArray();
            w.WriteEndObject();
        }

        buffer.Write([HubProtocol.RecordSeparator]);
        return buffer.WrittenSpan.ToArray();
    }

    private async Task<bool> SendAsync(ReadOnlyMemory<byte> data, bool skipIfBusy)
    {
        if (_stream is null || !IsOpen)
        {
            return false;
        }

        while (Interlocked.CompareExchange(ref _sending, 1, 0) != 0)
        {
            if (skipIfBusy)
            {
                return false;
            }

            await Task.Delay(1);
        }

        try
        {
            // After the handshake, MessagePack goes in binary frames only.
            await WriteFrameAsync(_ctx.Protocol == HubProtocolKind.Json ? OpText : OpBinary, data, CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException)
        {
            LastError = Describe(ex);
            return false;
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
        }
    }

    /// <summary>Writes one masked client frame (RFC 6455 §5.3).</summary>
    private async ValueTask WriteFrameAsync(byte opcode, ReadOnlyMemory<byte> payload, CancellationToken ct)
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(HubClient));
        var length = payload.Length;
        var header = length < 126 ? 2 : length <= ushort.MaxValue ? 4 : 10;
        var frame = ArrayPool<byte>.Shared.Rent(header + 4 + length);
        try
        {
            frame[0] = (byte)(0x80 | opcode);
            if (length < 126)
            {
                frame[1] = (byte)(0x80 | length);
            }
            else if (length <= ushort.MaxValue)
            {
                frame[1] = 0x80 | 126;
                BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)length);
            }
            else
            {
                frame[1] = 0x80 | 127;
                BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)length);
            }

            var mask = frame.AsSpan(header, 4);
            Random.Shared.NextBytes(mask);
            var body = frame.AsSpan(header + 4, length);
            payload.Span.CopyTo(body);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i & 3];
            }

            await stream.WriteAsync(frame.AsMemory(0, header + 4 + length), ct);
            Volatile.Write(ref _lastSend, Stopwatch.GetTimestamp());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private async Task ReceiveLoopAsync()
    {
        try
        {
            while (await ReadBatchAsync(CancellationToken.None))
            {
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or SocketException or HubConnectException)
        {
            LastError ??= Describe(ex);
        }
        finally
        {
            var prev = Interlocked.Exchange(ref _state, Idle);
            if (prev is Open or Closing)
            {
                _ctx.OnDisconnected(unexpected: prev == Open);
            }

            _pending?.TrySetResult(new InvocationResult { Error = "disconnected" });
            var stream = _stream;
            _stream = null;
            ResetBuffers();
            if (stream is not null)
            {
                await stream.DisposeAsync();
            }

            _socket?.Dispose();
            _socket = null;
        }
    }

    /// <summary>
    /// Waits for data with a zero-byte read (no buffer held while idle), then reads what is available into a pooled
    /// buffer and handles every complete frame in it. Returns false when the server closed the connection.
    /// </summary>
    private async ValueTask<bool> ReadBatchAsync(CancellationToken ct)
    {
        var stream = _stream ?? throw new ObjectDisposedException(nameof(HubClient));
        if (_carryLength == 0)
        {
            // Returns 0 when data is available (or at end of stream, which the real read below then sees).
            var ready = await stream.ReadAsync(Memory<byte>.Empty, ct);
            Debug.Assert(ready == 0, "zero-byte read returns 0");
            // Every notification this read takes gets the stamp of its oldest byte (at 10 broadcasts/s, one per read).
            // Stamps are asked for only once a latency window wants them, so other phases pay no system call for them.
            _arrivedAt = _ctx.ArrivalLatency is not null && _socket is { } socket && StampsArrivals(socket)
                ? SocketArrival.PeekTicks(socket)
                : 0;
        }
        else
        {
            // The rest of a frame already started: when it arrived is not worth a second system call.
            _arrivedAt = 0;
        }

        var size = Math.Max(ReceiveChunk, Math.Max(_needed, _carryLength + ReceiveChunk));
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        byte[]? pong = null;
        var closed = false;
        try
        {
            var length = 0;
            if (_carryLength > 0)
            {
                _carry.AsSpan(0, _carryLength).CopyTo(buffer);
                length = _carryLength;
                _carry = null;
                _carryLength = 0;
            }

            var n = await stream.ReadAsync(buffer.AsMemory(length), ct);
            if (n == 0)
            {
                LastError ??= "server closed the connection";
                return false;
            }

            length += n;
            var consumed = ParseFrames(buffer.AsSpan(0, length), ref pong, ref closed);
            if (consumed < length)
            {
                _carry = buffer.AsSpan(consumed, length - consumed).ToArray();
                _carryLength = _carry.Length;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (pong is not null)
        {
            await WriteFrameAsync(OpPong, pong, ct);
        }

        return !closed;
    }

    private bool StampsArrivals(Socket socket)
    {
        if (_stamps == 0)
        {
            _stamps = !_tls && SocketArrival.TryEnable(socket) ? 1 : -1;
        }

        return _stamps > 0;
    }

    /// <summary>Handles complete frames; returns the bytes consumed (a partial frame stays for the next read).</summary>
    private int ParseFrames(ReadOnlySpan<byte> data, ref byte[]? pong, ref bool closed)
    {
        var pos = 0;
        _needed = 0;
        while (data.Length - pos >= 2)
        {
            var b0 = data[pos];
            var b1 = data[pos + 1];
            var fin = (b0 & 0x80) != 0;
            var opcode = b0 & 0x0F;
            long payloadLength = b1 & 0x7F;
            var header = 2;
            if (payloadLength == 126)
            {
                if (data.Length - pos < 4)
                {
                    return pos;
                }

                payloadLength = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2)..]);
                header = 4;
            }
            else if (payloadLength == 127)
            {
                if (data.Length - pos < 10)
                {
                    return pos;
                }

                payloadLength = (long)BinaryPrimitives.ReadUInt64BigEndian(data[(pos + 2)..]);
                header = 10;
            }

            if ((b1 & 0x80) != 0)
            {
                throw new HubConnectException("server sent a masked frame");
            }

            if (payloadLength > MaxMessage)
            {
                throw new HubConnectException("frame too large");
            }

            var frameLength = header + (int)payloadLength;
            if (data.Length - pos < frameLength)
            {
                _needed = frameLength;
                return pos;
            }

            var payload = data.Slice(pos + header, (int)payloadLength);
            pos += frameLength;
            switch (opcode)
            {
                case OpText or OpBinary when fin && _messageLength == 0:
                    Process(payload);
                    break;
                case OpText or OpBinary or OpContinuation:
                    AppendMessage(payload);
                    if (fin)
                    {
                        var message = _message!;
                        var messageLength = _messageLength;
                        _message = null;
                        _messageLength = 0;
                        Process(message.AsSpan(0, messageLength));
                    }

                    break;
                case OpClose:
                    LastError ??= "server sent a WebSocket close";
                    closed = true;
                    return pos;
                case OpPing:
                    pong = payload.ToArray();
                    break;
                default:
                    break;
            }
        }

        return pos;
    }

    private void AppendMessage(ReadOnlySpan<byte> fragment)
    {
        var needed = _messageLength + fragment.Length;
        if (needed > MaxMessage)
        {
            throw new HubConnectException("message too large");
        }

        if (_message is null || _message.Length < needed)
        {
            var bigger = new byte[Math.Max(needed, Math.Min(MaxMessage, (_message?.Length ?? 1024) * 2))];
            _message.AsSpan(0, _messageLength).CopyTo(bigger);
            _message = bigger;
        }

        fragment.CopyTo(_message.AsSpan(_messageLength));
        _messageLength = needed;
    }

    private void ResetBuffers()
    {
        _carry = null;
        _carryLength = 0;
        _needed = 0;
        _message = null;
        _messageLength = 0;
        _partial = null;
        _partialLength = 0;
        _messagePack = null;
    }

    private void Process(ReadOnlySpan<byte> data)
    {
        if (_messagePack is not null)
        {
            // The one protocol check per WebSocket message: the JSON path below is what it always was.
            _messagePack.Read(data, this);
            return;
        }

        if (_partialLength > 0)
        {
            // A record was split across messages (rare): join it with the new data.
            var joined = new byte[_partialLength + data.Length];
            _partial.AsSpan(0, _partialLength).CopyTo(joined);
            data.CopyTo(joined.AsSpan(_partialLength));
            _partial = null;
            _partialLength = 0;
            data = joined;
        }

        while (!data.IsEmpty)
        {
            var sep = data.IndexOf(HubProtocol.RecordSeparator);
            if (sep < 0)
            {
                _partial = data.ToArray();
                _partialLength = _partial.Length;
                return;
            }

            Handle(data[..sep]);
            data = data[(sep + 1)..];
        }
    }

    private void Handle(ReadOnlySpan<byte> record)
    {
        if (!_handshakeDone)
        {
            OnHandshake(record);
            return;
        }

        Dispatch(HubProtocol.Parse(record));
    }

    void IHubMessageSink.OnHandshake(ReadOnlySpan<byte> response) => OnHandshake(response);

    void IHubMessageSink.OnMessage(in HubMessage message) => Dispatch(message);

    private void OnHandshake(ReadOnlySpan<byte> response)
    {
        _handshakeError = HubProtocol.HandshakeError(response);
        _handshakeDone = true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Dispatch(in HubMessage m)
    {
        switch (m.Kind)
        {
            case HubMessageKind.Notification:
                if (m.NotificationId > 0)
                {
                    Atomic.Max(ref MaxId, m.NotificationId);
                    if (_ctx.TrackIds)
                    {
                        var ids = Ids ??= [];
                        lock (ids)
                        {
                            ids.Add(m.NotificationId);
                        }
                    }
                }

                _ctx.OnNotification(m.SentAt, _arrivedAt);
                break;
            case HubMessageKind.Completion:
                var pending = Volatile.Read(ref _pending);
                if (pending is not null && pending.Id == m.InvocationId)
                {
                    pending.TrySetResult(m.Result);
                }

                break;
            case HubMessageKind.Close:
                LastError = "server sent close: " + (m.Error ?? "no error");
                break;
            default:
                break;
        }
    }

    private static async Task<Stream> UpgradeAsync(Stream stream, HubEndpoint ep, string token, CancellationToken ct)
    {
        Span<byte> keyBytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(keyBytes);
        var key = Convert.ToBase64String(keyBytes);
        var request = "GET " + ep.HubPath + "?access_token=" + Uri.EscapeDataString(token) + " HTTP/1.1\r\n" +
            "Host: " + ep.HostHeader + "\r\n" +
            "Upgrade: websocket\r\nConnection: Upgrade\r\n" +
            "Sec-WebSocket-Key: " + key + "\r\n" +
            "Sec-WebSocket-Version: 13\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), ct);
        await stream.FlushAsync(ct);

        var buffer = new byte[1024];
        var length = 0;
        while (true)
        {
            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
                if (buffer.Length > 64 * 1024)
                {
                    throw new HubConnectException("upgrade response headers too large");
                }
            }

            var n = await stream.ReadAsync(buffer.AsMemory(length), ct);
            if (n == 0)
            {
                throw new HubConnectException("connection closed during upgrade");
            }

            length += n;
            var end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (end < 0)
            {
                continue;
            }

            var head = Encoding.ASCII.GetString(buffer, 0, end);
            var lineEnd = head.IndexOf("\r\n", StringComparison.Ordinal);
            var parts = (lineEnd >= 0 ? head[..lineEnd] : head).Split(' ', 3);
            if (parts.Length < 2 || parts[1] != "101")
            {
                var status = parts.Length >= 2 ? parts[1] : "?";
                throw new HubConnectException("upgrade refused: HTTP " + status + (parts.Length > 2 ? " " + parts[2] : string.Empty));
            }

            var extra = length - (end + 4);
            return extra > 0 ? new PrefixedStream(stream, buffer.AsSpan(end + 4, extra).ToArray()) : stream;
        }
    }

    private static void TryBindAddressNoPort(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // IP_BIND_ADDRESS_NO_PORT (24) at SOL_IP: pick the source port at connect time, per destination.
            socket.SetRawSocketOption(0, 24, BitConverter.GetBytes(1));
        }
        catch (SocketException)
        {
        }
    }

    internal static string Describe(Exception ex) => ex switch
    {
        HubConnectException h => h.Message,
        SocketException s => "socket: " + s.SocketErrorCode,
        OperationCanceledException => "timeout",
        _ => ex.GetType().Name + ": " + ex.Message,
    };

    private static readonly byte[] JsonHandshake = HubProtocol.HandshakeRequest.ToArray();
    private static readonly byte[] JsonPing = HubProtocol.Ping.ToArray();
    private static readonly byte[] MessagePackHandshake = MessagePackHubProtocol.HandshakeRequest.ToArray();
    private static readonly byte[] MessagePackPing = MessagePackHubProtocol.Ping.ToArray();

    private sealed class PendingInvocation(int id) : TaskCompletionSource<InvocationResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public int Id { get; } = id;
    }
}

public sealed class HubConnectException(string message) : Exception(message);
