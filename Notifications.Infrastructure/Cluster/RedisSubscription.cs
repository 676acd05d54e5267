using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>Subscribing to one of the service's own Redis channels from an instance that may start while Redis is down.</summary>
internal static class RedisSubscription
{
    /// <summary>
    /// Subscribes, retrying every second while Redis is unreachable (the app starts anyway, abortConnect=false), and
    /// hands the message queue over once it is up. A failed subscribe leaves StackExchange.Redis holding a queue nobody
    /// reads, which Redis would fill once it is back: it is wiped before each retry. Gives up when
    /// <paramref name="stopped"/> says so.
    /// </summary>
    public static async Task SubscribeUntilDoneAsync(
        RedisConnection redis, RedisChannel channel, Action<ChannelMessageQueue> subscribed, string what, ILogger logger, TimeProvider time, Func<bool>? stopped = null)
    {
        var subscriber = redis.Multiplexer.GetSubscriber();
        for (var attempt = 1; stopped?.Invoke() != true; attempt++)
        {
            try
            {
                subscribed(await subscriber.SubscribeAsync(channel));
                return;
            }
            catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
            {
                if (attempt == 1)
                {
                    logger.LogWarning("Cannot subscribe to {What} yet ({Error}); retrying until Redis is reachable", what, ex.GetType().Name);
                }

                try
                {
                    await subscriber.UnsubscribeAsync(channel);
                }
                catch (Exception cleanup) when (cleanup is RedisException or RedisTimeoutException)
                {
                    // Forgotten locally before the server is asked; the server side died with the connection.
                }

                await Task.Delay(TimeSpan.FromSeconds(1), time);
            }
        }
    }
}
