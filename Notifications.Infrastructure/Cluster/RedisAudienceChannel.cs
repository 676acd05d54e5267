using System.Buffers.Binary;
using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// A push to the connections of some users and groups, serialized in every protocol the hub accepts; with
/// <see cref="GroupsJoinedBy"/> (UTC ticks, 0 for none), to a group's connections whose user joined it by then only.
/// </summary>
internal sealed record AudiencePush(IReadOnlyList<string> Users, IReadOnlyList<string> Groups, IReadOnlyList<SerializedMessage> Push, long GroupsJoinedBy = 0);

/// <summary>
/// Pushes to an audience of several parts across the cluster, on a Redis channel of the service's own: every instance
/// (the sender too) writes each push once to every local connection in any of its parts. Through the SignalR backplane
/// each user and group is a channel of its own, so a connection in two parts would get the push twice (see
/// <see cref="IAudienceLifetimeManager"/>). The order of one instance's pushes is kept (Redis pub/sub keeps a
/// publisher's order).
/// </summary>
internal sealed class RedisAudienceChannel
{
    /// <summary>More names than any audience the API accepts (1,000 per part); a larger count is a corrupt message.</summary>
    private const int MaxNames = 100_000;

    /// <summary>
    /// The join time travels as one more "protocol" of the push, by this name, holding 64-bit UTC ticks: instances of
    /// earlier versions read it as a protocol no connection speaks, and write the push without the check, as they did.
    /// </summary>
    internal const string JoinedByEntry = "notifications.groups-joined-by";

    private readonly Func<AudiencePush, Task> writeLocal;
    private readonly ILogger logger;
    private readonly OwnRedisChannel own;

    public RedisAudienceChannel(RedisConnection redis, Func<AudiencePush, Task> writeLocal, TimeProvider time, ILogger logger)
    {
        this.writeLocal = writeLocal;
        this.logger = logger;
        own = new OwnRedisChannel(redis, "audience", "audience pushes from other instances", WriteReceivedAsync, time, logger);
    }

    /// <summary>
    /// Publishes one push, or when it would not come back here, queues it for this instance's writing loop instead (see
    /// <see cref="OwnRedisChannel.SendAsync"/>): either way it is written here, after this instance's earlier pushes.
    /// </summary>
    public Task SendAsync(AudiencePush push, Action<Exception?> unavailable) => own.SendAsync(Encode(push), unavailable);

    /// <summary>Pushes received and not yet taken for writing (for tests and diagnostics).</summary>
    public int Pending => own.Pending;

    /// <summary>This instance's subscription is up: what it publishes comes back to it.</summary>
    public bool IsListening => own.IsListening;

    public void Start() => own.Start();

    /// <summary>Ends the writing loop (at shutdown); the subscription goes with the multiplexer.</summary>
    public void Stop() => own.Stop();

    private async Task WriteReceivedAsync(ChannelReader<byte[]> received)
    {
        while (await received.WaitToReadAsync())
        {
            while (received.TryRead(out var payload))
            {
                AudiencePush push;
                try
                {
                    push = Decode(payload);
                }
                catch (Exception ex) when (ex is ArgumentException or DecoderFallbackException or IndexOutOfRangeException)
                {
                    logger.LogWarning(ex, "Dropped a malformed audience push from the Redis channel");
                    continue;
                }

                try
                {
                    await writeLocal(push);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Writing an audience push to this instance's connections failed");
                }
            }
        }
    }

    /// <summary>
    /// [user count] then per user [length][UTF-8], the same for the groups, then the push as
    /// <see cref="RedisBroadcastChannel.Encode"/> writes it; lengths and counts are 32-bit little endian. A join time
    /// goes as a last entry of the push named <see cref="JoinedByEntry"/>.
    /// </summary>
    internal static byte[] Encode(AudiencePush push)
    {
        var pushBytes = RedisBroadcastChannel.Encode(push.GroupsJoinedBy == 0 ? push.Push : [.. push.Push, JoinedByAsEntry(push.GroupsJoinedBy)]);
        var size = 8 + push.Users.Concat(push.Groups).Sum(name => 4 + Encoding.UTF8.GetByteCount(name)) + pushBytes.Length;
        var buffer = new byte[size];
        var offset = WriteNames(buffer, 0, push.Users);
        offset = WriteNames(buffer, offset, push.Groups);
        pushBytes.CopyTo(buffer.AsSpan(offset));
        return buffer;
    }

    internal static AudiencePush Decode(byte[] payload)
    {
        var users = ReadNames(payload, 0, out var offset);
        var groups = ReadNames(payload, offset, out offset);
        var push = RedisBroadcastChannel.Decode(payload, offset);
        var entry = push.FindIndex(p => p.ProtocolName == JoinedByEntry);
        if (entry < 0)
        {
            return new AudiencePush(users, groups, push);
        }

        var time = push[entry].Serialized.Span;
        var joinedBy = time.Length == 8 ? BinaryPrimitives.ReadInt64LittleEndian(time) : -1;
        if (joinedBy is <= 0 || joinedBy > DateTime.MaxValue.Ticks)
        {
            throw new ArgumentException("An audience push has a join time that is not one.", nameof(payload));
        }

        push.RemoveAt(entry);
        return new AudiencePush(users, groups, push, joinedBy);
    }

    private static SerializedMessage JoinedByAsEntry(long ticks)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, ticks);
        return new SerializedMessage(JoinedByEntry, bytes);
    }

    private static int WriteNames(byte[] buffer, int offset, IReadOnlyList<string> names)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), names.Count);
        offset += 4;
        foreach (var name in names)
        {
            var length = Encoding.UTF8.GetBytes(name, buffer.AsSpan(offset + 4));
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(offset), length);
            offset += 4 + length;
        }

        return offset;
    }

    private static string[] ReadNames(byte[] payload, int start, out int end)
    {
        var count = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(start));
        if (count is < 0 or > MaxNames)
        {
            throw new ArgumentException($"An audience push names {count} users or groups.", nameof(payload));
        }

        var names = new string[count];
        var offset = start + 4;
        for (var i = 0; i < count; i++)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(offset));
            names[i] = Encoding.UTF8.GetString(payload.AsSpan(offset + 4, length));
            offset += 4 + length;
        }

        end = offset;
        return names;
    }
}
