using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// One of the service's own Redis channels: what it publishes, and what arrives on it (its own messages too, and those
/// it could not publish) queued in order for one reading loop. The subscription is retried until Redis is reachable.
/// </summary>
/// <remarks>
/// Messages are published by one loop, in the order they were sent, each time everything that waits as one contiguous
/// Redis batch: callers start sends without awaiting each (a publish's round trip would otherwise cap them), and
/// StackExchange.Redis documents no order between publishes that wait for its connection's write lock at the same
/// time; a batch is written as one block, in order.
/// </remarks>
internal sealed class OwnRedisChannel(
    RedisConnection redis, string name, string what, Func<ChannelReader<byte[]>, Task> readLoop, TimeProvider time, ILogger logger)
{
    // About 1 MB of 2 KB pushes: more waits for the next batch.
    private const int MaxBatch = 512;

    private readonly RedisChannel channel = RedisChannel.Literal(name);

    // Not SingleReader: only the multi-reader channel counts what waits (Pending).
    private readonly Channel<byte[]> received = Channel.CreateUnbounded<byte[]>();
    private readonly Channel<Outgoing> outgoing = Channel.CreateUnbounded<Outgoing>(new UnboundedChannelOptions { SingleReader = true });
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
    /// Publishes one message after those sent before it, to come back to the reading loop here as it reaches every
    /// instance's. When it would not come back (Redis unreachable, the publish failed, this instance's subscription not
    /// up yet), it is queued for the loop here directly, by the publishing loop in its turn: so this instance's messages
    /// are written here in the order they were made, except one whose publish failed while earlier ones were still on
    /// their way back. <paramref name="unavailable"/> hears why Redis was not used (null: not connected). Completes
    /// once the message is published or queued here.
    /// </summary>
    public Task SendAsync(byte[] payload, Action<Exception?> unavailable)
    {
        // Started here too: with Redis down since startup nothing else may have started the loops yet.
        Start();
        var send = new Outgoing(payload, unavailable);
        if (!outgoing.Writer.TryWrite(send))
        {
            // Stopped (shutting down): this instance's connections may still take it.
            QueueHere(payload);
            return Task.CompletedTask;
        }

        return send.Done.Task;
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
            _ = Task.Run(PublishLoopAsync);
        }
    }

    /// <summary>Ends the publishing and reading loops (at shutdown); the subscription goes with the multiplexer.</summary>
    public void Stop()
    {
        outgoing.Writer.TryComplete();
        received.Writer.TryComplete();
    }

    // Only ever written here: the loop writes what it reads to this instance's connections and publishes nothing.
    private void QueueHere(byte[] payload) => received.Writer.TryWrite(payload);

    private async Task PublishLoopAsync()
    {
        var batch = new List<Outgoing>();
        while (await outgoing.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && outgoing.Reader.TryRead(out var send))
            {
                batch.Add(send);
            }

            try
            {
                await PublishAsync(batch);
            }
            catch (Exception ex)
            {
                // Not a Redis failure (those are handled per message): the pushes may be lost on the wire, clients sync.
                logger.LogWarning(ex, "Publishing {Count} messages on the {Channel} channel failed", batch.Count, name);
            }
            finally
            {
                foreach (var send in batch)
                {
                    send.Done.TrySetResult();
                }

                batch.Clear();
            }
        }
    }

    private async Task PublishAsync(List<Outgoing> batch)
    {
        if (!redis.IsAvailable)
        {
            foreach (var send in batch)
            {
                send.Unavailable(null);
                QueueHere(send.Payload);
            }

            return;
        }

        var comesBack = IsListening;
        if (!comesBack)
        {
            batch.ForEach(send => QueueHere(send.Payload));
        }

        var publishes = new Task[batch.Count];
        if (batch.Count == 1)
        {
            publishes[0] = redis.Multiplexer.GetSubscriber().PublishAsync(channel, batch[0].Payload);
        }
        else
        {
            // Written to the connection as one block, in this order.
            var block = redis.Multiplexer.GetDatabase().CreateBatch();
            for (var i = 0; i < batch.Count; i++)
            {
                publishes[i] = block.PublishAsync(channel, batch[i].Payload);
            }

            block.Execute();
        }

        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                await publishes[i];
            }
            catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
            {
                batch[i].Unavailable(ex);
                if (comesBack)
                {
                    QueueHere(batch[i].Payload);
                }
            }
        }
    }

    private sealed class Outgoing(byte[] payload, Action<Exception?> unavailable)
    {
        public byte[] Payload { get; } = payload;

        public Action<Exception?> Unavailable { get; } = unavailable;

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
