using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// Pushes to everyone across the cluster, on a Redis channel of the service's own instead of the SignalR Redis
/// backplane's: every instance (the sender too) takes whatever arrived while it was writing the previous push to its
/// connections and writes it all to each connection at once. A burst of broadcasts from several instances so costs
/// each socket one send, as on a single instance (see PushBatch), where the backplane's channel writes every message
/// by itself. The order of one instance's pushes is kept (Redis pub/sub keeps a publisher's order).
/// While pushes keep coming (less than <see cref="BusyInterval"/> apart), one that arrives alone waits
/// <see cref="Linger"/> for the next before it is written, so that a busy stream shares its writes too.
/// </summary>
internal sealed class RedisBroadcastChannel
{
    /// <summary>What one instance writes to each connection at most at once, in bytes (always at least one push).</summary>
    private const int MaxBytesPerWrite = 64 * 1024;

    /// <summary>
    /// What a lone push waits for company in a busy stream. A steady stream from several instances mostly arrives one
    /// push at a time, and each went out in a socket send of its own: two instances spent 1.3–1.4× one instance's CPU
    /// per delivery (plain SignalR's overlapping fan-outs share sends without trying). A millisecond lets the next join
    /// it: 1.17× (docs/benchmarks.md, S6).
    /// </summary>
    internal static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(1);

    /// <summary>Pushes closer together than this make a busy stream; further apart (a quiet one), each goes out at once.</summary>
    internal static readonly TimeSpan BusyInterval = TimeSpan.FromMilliseconds(50);

    private readonly Func<IReadOnlyList<SerializedMessage>, Task> writeLocal;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly OwnRedisChannel own;

    public RedisBroadcastChannel(RedisConnection redis, Func<IReadOnlyList<SerializedMessage>, Task> writeLocal, TimeProvider time, ILogger logger)
    {
        this.writeLocal = writeLocal;
        this.time = time;
        this.logger = logger;
        own = new OwnRedisChannel(redis, "everyone", "broadcasts from other instances", WriteReceivedAsync, time, logger);
    }

    /// <summary>This instance's subscription is up: what it publishes comes back to it.</summary>
    public bool IsListening => own.IsListening;

    /// <summary>Pushes received and not yet taken for writing (for tests and diagnostics).</summary>
    public int Pending => own.Pending;

    /// <summary>
    /// Publishes one push, serialized in every protocol the hub accepts. True when this instance's own subscription was
    /// up, so the push comes back to be written to the local connections; otherwise nothing writes it here (see
    /// <see cref="SendAsync"/>, which does).
    /// </summary>
    public Task<bool> PublishAsync(IReadOnlyList<SerializedMessage> push) => own.PublishAsync(Encode(push));

    /// <summary>
    /// Publishes one push, or when it would not come back here, queues it for this instance's writing loop instead (see
    /// <see cref="OwnRedisChannel.SendAsync"/>): either way it is written here, after this instance's earlier pushes.
    /// </summary>
    public Task SendAsync(IReadOnlyList<SerializedMessage> push, Action<Exception?> unavailable) => own.SendAsync(Encode(push), unavailable);

    public void Start() => own.Start();

    /// <summary>Ends the writing loop (at shutdown); the subscription goes with the multiplexer.</summary>
    public void Stop() => own.Stop();

    /// <summary>One write to the local connections per round: every push received meanwhile, in order.</summary>
    private async Task WriteReceivedAsync(ChannelReader<byte[]> received)
    {
        var pushes = new List<IReadOnlyList<SerializedMessage>>();
        long? previousRound = null;
        while (await received.WaitToReadAsync())
        {
            if (received.Count == 1 && previousRound is { } previous && time.GetElapsedTime(previous) < BusyInterval)
            {
                await Task.Delay(Linger, time);
            }

            previousRound = time.GetTimestamp();
            var bytes = 0;
            while (bytes < MaxBytesPerWrite && received.TryRead(out var payload))
            {
                bytes += payload.Length;
                try
                {
                    pushes.Add(Decode(payload));
                }
                catch (Exception ex) when (ex is ArgumentException or DecoderFallbackException or IndexOutOfRangeException)
                {
                    logger.LogWarning(ex, "Dropped a malformed broadcast from the Redis channel");
                }
            }

            if (pushes.Count == 0)
            {
                continue;
            }

            try
            {
                await writeLocal(pushes.Count == 1 ? pushes[0] : Concatenate(pushes));
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Writing {Count} broadcasts to this instance's connections failed", pushes.Count);
            }

            pushes.Clear();
        }
    }

    /// <summary>Per protocol, the pushes that have it, back to back (instances agree on protocols but for a rollout).</summary>
    private static List<SerializedMessage> Concatenate(List<IReadOnlyList<SerializedMessage>> pushes)
    {
        var byProtocol = new Dictionary<string, List<ReadOnlyMemory<byte>>>(StringComparer.Ordinal);
        foreach (var push in pushes)
        {
            foreach (var serialized in push)
            {
                if (!byProtocol.TryGetValue(serialized.ProtocolName, out var parts))
                {
                    byProtocol[serialized.ProtocolName] = parts = [];
                }

                parts.Add(serialized.Serialized);
            }
        }

        return byProtocol.Select(p =>
        {
            var joined = new byte[p.Value.Sum(part => part.Length)];
            var offset = 0;
            foreach (var part in p.Value)
            {
                part.Span.CopyTo(joined.AsSpan(offset));
                offset += part.Length;
            }

            return new SerializedMessage(p.Key, joined);
        }).ToList();
    }

    /// <summary>[count] then per protocol [name length][name][bytes length][bytes]; lengths are 32-bit little endian.</summary>
    internal static byte[] Encode(IReadOnlyList<SerializedMessage> push)
    {
        var size = 4 + push.Sum(p => 8 + Encoding.UTF8.GetByteCount(p.ProtocolName) + p.Serialized.Length);
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, push.Count);
        var offset = 4;
        foreach (var serialized in push)
        {
            var nameLength = Encoding.UTF8.GetBytes(serialized.ProtocolName, span[(offset + 4)..]);
            BinaryPrimitives.WriteInt32LittleEndian(span[offset..], nameLength);
            offset += 4 + nameLength;
            BinaryPrimitives.WriteInt32LittleEndian(span[offset..], serialized.Serialized.Length);
            serialized.Serialized.Span.CopyTo(span[(offset + 4)..]);
            offset += 4 + serialized.Serialized.Length;
        }

        return buffer;
    }

    /// <summary>Reads what <see cref="Encode"/> wrote, from <paramref name="start"/> to the end of <paramref name="payload"/>.</summary>
    internal static List<SerializedMessage> Decode(byte[] payload, int start = 0)
    {
        var span = payload.AsSpan();
        var count = BinaryPrimitives.ReadInt32LittleEndian(span[start..]);
        if (count is < 0 or > 16)
        {
            throw new ArgumentException($"A broadcast names {count} protocols.", nameof(payload));
        }

        var push = new List<SerializedMessage>(count);
        var offset = start + 4;
        for (var i = 0; i < count; i++)
        {
            var nameLength = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
            var name = Encoding.UTF8.GetString(span.Slice(offset + 4, nameLength));
            offset += 4 + nameLength;
            var length = BinaryPrimitives.ReadInt32LittleEndian(span[offset..]);
            push.Add(new SerializedMessage(name, payload.AsMemory(offset + 4, length)));
            offset += 4 + length;
        }

        if (offset != payload.Length)
        {
            throw new ArgumentException($"A broadcast has {payload.Length - offset} bytes after its last protocol.", nameof(payload));
        }

        return push;
    }
}
