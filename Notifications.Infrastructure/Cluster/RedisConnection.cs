using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// The one Redis multiplexer of this process, shared by the SignalR backplane, the cluster bus and the health check.
/// abortConnect=false: the app starts and keeps serving its own clients while Redis is unreachable.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    private readonly Lazy<ConnectionMultiplexer> multiplexer;

    public RedisConnection(string configuration, string channelPrefix, ILogger<RedisConnection> logger)
    {
        ChannelPrefix = channelPrefix;
        multiplexer = new Lazy<ConnectionMultiplexer>(() =>
        {
            var options = ConfigurationOptions.Parse(configuration);
            options.AbortOnConnectFail = false;

            // While Redis is down, fail at once instead of queueing: the caller falls back to local delivery.
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ChannelPrefix = RedisChannel.Literal(channelPrefix);
            var connection = ConnectionMultiplexer.Connect(options);
            connection.ConnectionFailed += (_, e) =>
                logger.LogWarning("Redis connection to {Endpoint} failed: {FailureType}", e.EndPoint, e.FailureType);
            connection.ConnectionRestored += (_, e) =>
                logger.LogInformation("Redis connection to {Endpoint} restored", e.EndPoint);
            return connection;
        });
    }

    public string ChannelPrefix { get; }

    public IConnectionMultiplexer Multiplexer => multiplexer.Value;

    public void Dispose()
    {
        if (multiplexer.IsValueCreated)
        {
            multiplexer.Value.Dispose();
        }
    }
}
