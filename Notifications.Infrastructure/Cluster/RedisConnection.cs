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

            // Retry often enough that delivery across instances resumes within seconds of Redis coming back,
            // however long it was gone (the default back-off grows towards tens of seconds).
            options.ReconnectRetryPolicy = new ExponentialRetry(deltaBackOffMilliseconds: 500, maxDeltaBackOffMilliseconds: 2000);
            var connection = ConnectionMultiplexer.Connect(options);
            connection.ConnectionFailed += (_, e) =>
            {
                logger.LogWarning("Redis connection to {Endpoint} failed ({ConnectionType}): {FailureType}", e.EndPoint, e.ConnectionType, e.FailureType);
                Failed?.Invoke(this, EventArgs.Empty);
            };
            connection.ConnectionRestored += (_, e) =>
            {
                logger.LogInformation("Redis connection to {Endpoint} restored ({ConnectionType})", e.EndPoint, e.ConnectionType);
                Restored?.Invoke(this, EventArgs.Empty);
            };
            return connection;
        });
    }

    public string ChannelPrefix { get; }

    public IConnectionMultiplexer Multiplexer => multiplexer.Value;

    /// <summary>
    /// Both Redis links are up: commands (publish) and pub/sub (this instance's subscriptions). Either one down
    /// means a publish would not reach this instance's own connections.
    /// </summary>
    public bool IsAvailable
    {
        get
        {
            var connection = Multiplexer;
            return connection.IsConnected && connection.GetSubscriber().IsConnected();
        }
    }

    /// <summary>Raised when a Redis link comes back, so that work held back during the outage can be done at once.</summary>
    public event EventHandler? Restored;

    /// <summary>
    /// Raised when a Redis link fails (and again at each failed attempt to reconnect it), so that what this instance may
    /// have missed from the other instances from then on can be made up once it is back.
    /// </summary>
    public event EventHandler? Failed;

    public void Dispose()
    {
        if (multiplexer.IsValueCreated)
        {
            multiplexer.Value.Dispose();
        }
    }
}
