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

    /// <summary>In place of the user count: a join time follows, then the push as before.</summary>
    private const int JoinedByMarker = -1;

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
    /// <see cref="RedisBroadcastChannel.Encode"/> writes it; lengths and counts are 32-bit little endian. A push with a
    /// join time starts with [-1][UTC ticks, 64-bit little endian] instead; pushes without one (to users only, and
    /// every push but a notification's) keep the older form, which instances of earlier versions read.
    /// </summary>
    internal static byte[] Encode(AudiencePush push)
    {
        var pushBytes = RedisBroadcastChannel.Encode(push.Push);
        var header = push.GroupsJoinedBy == 0 ? 0 : 12;
        var size = header + 8 + push.Users.Concat(push.Groups).Sum(name => 4 + Encoding.UTF8.GetByteCount(name)) + pushBytes.Length;
        var buffer = new byte[size];
        if (header > 0)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer, JoinedByMarker);
            BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(4), push.GroupsJoinedBy);
        }

        var offset = WriteNames(buffer, header, push.Users);
        offset = WriteNames(buffer, offset, push.Groups);
        pushBytes.CopyTo(buffer.AsSpan(offset));
        return buffer;
    }

    internal static AudiencePush Decode(byte[] payload)
    {
        var (start, joinedBy) = BinaryPrimitives.ReadInt32LittleEndian(payload) == JoinedByMarker
            ? (12, BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(4)))
            : (0, 0L);
        if (joinedBy is < 0 || joinedBy > DateTime.MaxValue.Ticks)
        {
            throw new ArgumentException($"An audience push has a join time of {joinedBy} ticks.", nameof(payload));
        }

        var users = ReadNames(payload, start, out var offset);
        var groups = ReadNames(payload, offset, out offset);
        return new AudiencePush(users, groups, RedisBroadcastChannel.Decode(payload, offset), joinedBy);
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
