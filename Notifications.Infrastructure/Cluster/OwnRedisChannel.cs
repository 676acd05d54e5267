using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// One of the service's own Redis channels: what it publishes, and what arrives on it (its own messages too, and those
/// it could not publish) queued in order for one reading loop. The subscription is retried until Redis is reachable.
/// </summary>
internal sealed class OwnRedisChannel(
    RedisConnection redis, string name, string what, Func<ChannelReader<byte[]>, Task> readLoop, TimeProvider time, ILogger logger)
{
    private readonly RedisChannel channel = RedisChannel.Literal(name);

    // Not SingleReader: only the multi-reader channel counts what waits (Pending).
    private readonly Channel<byte[]> received = Channel.CreateUnbounded<byte[]>();
    private int started;
    private int listening;

    /// <summary>This instance's subscription is up: what it publishes comes back to it.</summary>
    public bool IsListening => Volatile.Read(ref listening) == 1;

    /// <summary>Messages received and not yet taken by the reading loop.</summary>
    public int Pending => received.Reader.Count;

    /// <summary>Publishes one message. True when this instance's subscription was up, so that it comes back here.</summary>
    public async Task<bool> PublishAsync(byte[] payload)
    {
        Start();
        var comesBack = IsListening;
        await redis.Multiplexer.GetSubscriber().PublishAsync(channel, payload);
        return comesBack;
    }

    /// <summary>
    /// Publishes one message, to come back to the reading loop here as it reaches every instance's. When it would not
    /// come back (Redis unreachable, the publish failed, this instance's subscription not up yet), it is queued for the
    /// loop here directly: so this instance's messages are written here in the order they were made, never one that
    /// could not be published ahead of earlier ones still waiting in the loop. <paramref name="unavailable"/> hears why
    /// Redis was not used (null: not connected).
    /// </summary>
    public async Task SendAsync(byte[] payload, Action<Exception?> unavailable)
    {
        var comesBack = false;
        if (redis.IsAvailable)
        {
            try
            {
                comesBack = await PublishAsync(payload);
            }
            catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
            {
                unavailable(ex);
            }
        }
        else
        {
            unavailable(null);
        }

        if (!comesBack)
        {
            // Started here too: with Redis down since startup nothing else may have started the loop yet.
            Start();

            // Only ever written here: the loop writes what it reads to this instance's connections and publishes nothing.
            received.Writer.TryWrite(payload);
        }
    }

    public void Start()
    {
        if (Interlocked.Exchange(ref started, 1) == 0)
        {
            _ = RedisSubscription.SubscribeUntilDoneAsync(redis, channel, queue =>
            {
                queue.OnMessage(message => received.Writer.TryWrite((byte[])message.Message!));
                Volatile.Write(ref listening, 1);
            }, what, logger, time, () => received.Reader.Completion.IsCompleted);
            _ = Task.Run(() => readLoop(received.Reader));
        }
    }

    /// <summary>Ends the reading loop (at shutdown); the subscription goes with the multiplexer.</summary>
    public void Stop() => received.Writer.TryComplete();
}
