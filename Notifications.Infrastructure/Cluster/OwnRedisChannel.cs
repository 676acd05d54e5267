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
    /// come back (Redis unreachable, this instance's subscription not up yet), it is queued for the loop here directly,
    /// at once: callers start sends one after another without awaiting each (a publish's round trip would otherwise cap
    /// them), and this keeps this instance's messages written here in the order they were made. A publish that fails
    /// is queued here when it fails, after any later one already published. <paramref name="unavailable"/> hears why
    /// Redis was not used (null: not connected).
    /// </summary>
    public async Task SendAsync(byte[] payload, Action<Exception?> unavailable)
    {
        // Started here too: with Redis down since startup nothing else may have started the loop yet.
        Start();
        if (!redis.IsAvailable)
        {
            unavailable(null);
            QueueHere(payload);
            return;
        }

        var comesBack = IsListening;
        if (!comesBack)
        {
            QueueHere(payload);
        }

        try
        {
            await redis.Multiplexer.GetSubscriber().PublishAsync(channel, payload);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            unavailable(ex);
            if (comesBack)
            {
                QueueHere(payload);
            }
        }
    }

    // Only ever written here: the loop writes what it reads to this instance's connections and publishes nothing.
    private void QueueHere(byte[] payload) => received.Writer.TryWrite(payload);

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
