using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>The scaled-out bus: Redis pub/sub for membership changes, a Redis hash for instance reports.</summary>
public sealed class RedisClusterBus : IClusterBus
{
    // Instances report every 2 s (InstanceReporter); one that stopped without withdrawing (killed) drops out after this.
    private static readonly TimeSpan ReportLifetime = TimeSpan.FromSeconds(10);

    // Once Redis is back, long enough for StackExchange.Redis to restore the subscription (so every later change is
    // heard) and for the restores of both links to make one resync.
    private static readonly TimeSpan ResyncDelay = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan RepublishInterval = TimeSpan.FromSeconds(1);
    private readonly RedisConnection redis;
    private readonly InstanceIdentity instance;
    private readonly TimeProvider time;
    private readonly ILogger<RedisClusterBus> logger;
    private readonly HandlerList<MembershipChanged> handlers = new();
    private readonly HandlerList<CancellationToken> resyncHandlers = new();

    // Changes applied here (this instance's own, others' from the channel) and a resync never interleave: a resync
    // reads the database and applies the difference in one go, and a change applied after it starts from its result.
    private readonly SemaphoreSlim applyGate = new(1, 1);

    // UTC ticks: when the last resync started (0: none yet).
    private long lastResyncStartedAt;

    // Changes the other instances could not be told of yet, the latest per user and group.
    private readonly ConcurrentDictionary<(string UserId, string Group), MembershipChanged> unpublished = new();
    private int resyncScheduled;
    private int republishing;
    private readonly RedisChannel channel = RedisChannel.Literal("membership");
    private int subscribed;

    // Read-state changes travel apart from membership changes: they need neither the apply gate nor republishing (a
    // count not pushed is asked for again by the client), and a burst of them must not queue up group moves.
    private readonly HandlerList<ReadStateChanged> readStateHandlers = new();
    private readonly RedisChannel readStateChannel = RedisChannel.Literal("read-state");
    private int readStateSubscribed;

    public RedisClusterBus(RedisConnection redis, InstanceIdentity instance, TimeProvider time, ILogger<RedisClusterBus> logger)
    {
        this.redis = redis;
        this.instance = instance;
        this.time = time;
        this.logger = logger;

        // Changes published while this instance could not hear them (Redis down, or only its link to Redis) are lost
        // with pub/sub: without a resync, a user removed from a group meanwhile would keep getting its pushes here
        // until reconnecting.
        redis.Restored += (_, _) =>
        {
            if (Interlocked.Exchange(ref resyncScheduled, 1) == 0)
            {
                _ = ResyncSoonAsync();
            }
        };
    }

    private RedisKey ReportsKey => $"{redis.ChannelPrefix}:instances";

    public async Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken)
    {
        // Local connections move at once; the others follow when the message reaches their instance. A local move
        // that fails must not keep the others from hearing of the change.
        try
        {
            await ApplyAsync(change);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not apply a membership change to this instance's connections");
        }

        if (!await TryPublishAsync(change))
        {
            // The others cannot hear it now, and their own links may never have dropped (so they will not resync):
            // it goes again once Redis answers. Handlers apply the stored state, so a late or repeated change is safe.
            unpublished[(change.UserId, change.Group)] = change;
            if (Interlocked.Exchange(ref republishing, 1) == 0)
            {
                _ = RepublishAsync();
            }
        }
    }

    private async Task<bool> TryPublishAsync(MembershipChanged change)
    {
        try
        {
            var envelope = new Envelope(instance.Id, change);
            await redis.Multiplexer.GetSubscriber().PublishAsync(channel, JsonSerializer.Serialize(envelope));
            return true;
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            logger.LogWarning("Could not publish a membership change to the other instances ({Error}); retrying until Redis answers", ex.GetType().Name);
            return false;
        }
    }

    private async Task RepublishAsync()
    {
        try
        {
            await RepublishUntilDoneAsync();
        }
        catch (Exception ex)
        {
            Volatile.Write(ref republishing, 0);
            logger.LogWarning(ex, "Republishing membership changes stopped; they are read again on each client's next connect");
        }
    }

    private async Task RepublishUntilDoneAsync()
    {
        while (true)
        {
            await Task.Delay(RepublishInterval, time);
            foreach (var (key, change) in unpublished)
            {
                if (!await TryPublishAsync(change))
                {
                    break;
                }

                // Removed only if no newer change for the pair came in meanwhile.
                unpublished.TryRemove(new KeyValuePair<(string, string), MembershipChanged>(key, change));
            }

            Volatile.Write(ref republishing, 0);
            if (unpublished.IsEmpty || Interlocked.Exchange(ref republishing, 1) == 1)
            {
                return;
            }
        }
    }

    public void Subscribe(Func<MembershipChanged, Task> handler)
    {
        handlers.Add(handler);

        if (Interlocked.Exchange(ref subscribed, 1) == 0)
        {
            // A queue, not a handler: its messages are handled one at a time, in order (join then leave stays so).
            _ = RedisSubscription.SubscribeUntilDoneAsync(redis, channel, queue => queue.OnMessage(OnMessageAsync), "membership changes", logger, time);
        }
    }

    public async Task PublishAsync(ReadStateChanged change, CancellationToken cancellationToken)
    {
        // This instance's connections are told without Redis, so also while it is down (as the local fallback delivers
        // the read pushes themselves); the others when the message reaches them, without waiting for the local count.
        var local = readStateHandlers.InvokeInTurnAsync(change);
        try
        {
            await redis.Multiplexer.GetSubscriber().PublishAsync(readStateChannel, JsonSerializer.Serialize(new ReadStateEnvelope(instance.Id, change)));
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            // Debug only: the outage itself is logged by the backplane, and this would repeat for every read.
            logger.LogDebug("Could not tell the other instances of a read-state change ({Error})", ex.GetType().Name);
        }

        await local;
    }

    public void SubscribeReadState(Func<ReadStateChanged, Task> handler)
    {
        readStateHandlers.Add(handler);

        if (Interlocked.Exchange(ref readStateSubscribed, 1) == 0)
        {
            _ = RedisSubscription.SubscribeUntilDoneAsync(
                redis, readStateChannel, queue => queue.OnMessage(OnReadStateMessageAsync), "read-state changes", logger, time);
        }
    }

    public void SubscribeResync(Func<CancellationToken, Task> handler)
    {
        resyncHandlers.Add(handler);
    }

    public async Task ReportAsync(InstanceReport report, CancellationToken cancellationToken)
    {
        try
        {
            await redis.Multiplexer.GetDatabase().HashSetAsync(ReportsKey, report.InstanceId, JsonSerializer.Serialize(report));
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            logger.LogDebug(ex, "Could not store this instance's report");
        }
    }

    public async Task WithdrawReportAsync(string instanceId)
    {
        try
        {
            await redis.Multiplexer.GetDatabase().HashDeleteAsync(ReportsKey, instanceId);
        }
        catch (Exception ex) when (ex is RedisException or RedisTimeoutException)
        {
            logger.LogDebug(ex, "Could not withdraw this instance's report; it expires by itself");
        }
    }

    public async Task<IReadOnlyList<InstanceReport>> GetReportsAsync(CancellationToken cancellationToken)
    {
        var entries = await redis.Multiplexer.GetDatabase().HashGetAllAsync(ReportsKey);
        var cutoff = time.GetUtcNow().UtcDateTime - ReportLifetime;
        var reports = new List<InstanceReport>();
        foreach (var entry in entries)
        {
            var report = JsonSerializer.Deserialize<InstanceReport>((string)entry.Value!);
            if (report is not null && report.At >= cutoff)
            {
                reports.Add(report);
            }
            else
            {
                await redis.Multiplexer.GetDatabase().HashDeleteAsync(ReportsKey, entry.Name);
            }
        }

        return reports;
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize<Envelope>((string)message.Message!);
            if (envelope is not null && envelope.Origin != instance.Id)
            {
                await ApplyAsync(envelope.Change);
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not apply a membership change from another instance");
        }
    }

    private async Task ApplyAsync(MembershipChanged change)
    {
        await applyGate.WaitAsync();
        try
        {
            await handlers.InvokeInTurnAsync(change);
        }
        finally
        {
            applyGate.Release();
        }
    }

    private Task OnReadStateMessageAsync(ChannelMessage message)
    {
        try
        {
            var envelope = JsonSerializer.Deserialize<ReadStateEnvelope>((string)message.Message!);
            if (envelope is not null && envelope.Origin != instance.Id)
            {
                foreach (var handler in readStateHandlers.Snapshot())
                {
                    _ = ObserveAsync(handler(envelope.Change));
                }
            }
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not apply a read-state change from another instance");
        }

        return Task.CompletedTask;
    }

    private async Task ObserveAsync(Task handled)
    {
        try
        {
            await handled;
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "Could not apply a read-state change from another instance");
        }
    }


    public async Task ResyncNowAsync(DateTime notBefore, CancellationToken cancellationToken)
    {
        await applyGate.WaitAsync(cancellationToken);
        try
        {
            // Replays after one outage ask several times (one window per instance's notice): one resync serves them all.
            if (Interlocked.Read(ref lastResyncStartedAt) < notBefore.Ticks)
            {
                await ResyncLockedAsync(cancellationToken);
            }
        }
        finally
        {
            applyGate.Release();
        }
    }

    /// <summary>Runs the resync handlers; the caller holds the apply gate.</summary>
    private Task ResyncLockedAsync(CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref lastResyncStartedAt, time.GetUtcNow().UtcTicks);
        return resyncHandlers.InvokeInTurnAsync(cancellationToken);
    }

    private async Task ResyncSoonAsync()
    {
        try
        {
            await Task.Delay(ResyncDelay, time);
            Volatile.Write(ref resyncScheduled, 0);
            if (!redis.IsAvailable)
            {
                // Down again: the next restore schedules another.
                return;
            }

            await applyGate.WaitAsync();
            try
            {
                await ResyncLockedAsync(CancellationToken.None);
            }
            finally
            {
                applyGate.Release();
            }
        }
        catch (Exception ex)
        {
            Volatile.Write(ref resyncScheduled, 0);
            logger.LogWarning(ex, "Could not resync group memberships after Redis came back; they are read again on each client's next connect");
        }
    }

    private sealed record Envelope(string Origin, MembershipChanged Change);

    private sealed record ReadStateEnvelope(string Origin, ReadStateChanged Change);
}
