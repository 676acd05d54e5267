using System.Buffers.Binary;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// Notices on a Redis channel of the service's own: "pushes sent in this window could not be published", from an
/// instance that delivered to its own connections only while its link to Redis was down. Every instance that hears one
/// (the sender too) pushes that window again to its own connections from the database (see <see cref="IMissedPushes"/>).
/// An instance whose own link never dropped (only the sender's did) would otherwise never learn what it missed.
/// </summary>
internal sealed class RedisMissedPushesChannel
{
    private const int NoticeLength = 16;

    private readonly Func<MissedWindow, Task> heard;
    private readonly ILogger logger;
    private readonly OwnRedisChannel own;

    public RedisMissedPushesChannel(RedisConnection redis, Func<MissedWindow, Task> heard, TimeProvider time, ILogger logger)
    {
        this.heard = heard;
        this.logger = logger;
        own = new OwnRedisChannel(redis, "missed", "notices of pushes other instances could not publish", ReadAsync, time, logger);
    }

    /// <summary>This instance's subscription is up: what it publishes comes back to it.</summary>
    public bool IsListening => own.IsListening;

    /// <summary>
    /// Publishes a notice for <paramref name="window"/>. True when it was published; false when Redis could not take it
    /// (then only this instance hears it, and the caller tries again later).
    /// </summary>
    public async Task<bool> PublishAsync(MissedWindow window)
    {
        var published = true;
        await own.SendAsync(Encode(window), _ => published = false);
        return published;
    }

    public void Start() => own.Start();

    /// <summary>Ends the reading loop (at shutdown); the subscription goes with the multiplexer.</summary>
    public void Stop() => own.Stop();

    private async Task ReadAsync(ChannelReader<byte[]> received)
    {
        while (await received.WaitToReadAsync())
        {
            while (received.TryRead(out var payload))
            {
                MissedWindow window;
                try
                {
                    window = Decode(payload);
                }
                catch (ArgumentException ex)
                {
                    logger.LogWarning(ex, "Dropped a malformed notice of missed pushes from the Redis channel");
                    continue;
                }

                try
                {
                    await heard(window);
                }
                catch (Exception ex)
                {
                    logger.LogWarning(ex, "Handling a notice of missed pushes failed");
                }
            }
        }
    }

    /// <summary>[from][to] as UTC ticks, 64-bit little endian.</summary>
    internal static byte[] Encode(MissedWindow window)
    {
        var buffer = new byte[NoticeLength];
        BinaryPrimitives.WriteInt64LittleEndian(buffer, window.From.Ticks);
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(8), window.To.Ticks);
        return buffer;
    }

    internal static MissedWindow Decode(byte[] payload)
    {
        if (payload.Length != NoticeLength)
        {
            throw new ArgumentException($"A notice of missed pushes has {payload.Length} bytes, not {NoticeLength}.", nameof(payload));
        }

        var from = BinaryPrimitives.ReadInt64LittleEndian(payload);
        var to = BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(8));
        if (from < DateTime.MinValue.Ticks || to > DateTime.MaxValue.Ticks || from > to)
        {
            throw new ArgumentException("A notice of missed pushes names no window.", nameof(payload));
        }

        return new MissedWindow(new DateTime(from, DateTimeKind.Utc), new DateTime(to, DateTimeKind.Utc));
    }
}
