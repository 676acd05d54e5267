using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.ScaleOut;

/// <summary>Two instances' membership buses on a real redis-server of their own; A reaches it through a forwarder the test cuts.</summary>
public sealed class RedisClusterBusTests : IAsyncLifetime
{
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    [Fact]
    public async Task A_change_made_while_Redis_is_down_reaches_the_other_instances_once_it_is_back()
    {
        // Only A's link drops: B's never does, so it has nothing to resync from, and only the instance that made the
        // change can tell it. (Were Redis itself restarted, B's link would drop too, and B would resync from the store
        // instead; A's publish could then come before B subscribed again, and no one would hear it.)
        await using var forwarder = new TcpForwarder(redis.Port);
        using var linkA = new RedisConnection(RedisServer.ConfigurationVia(forwarder.Port), "bus-tests", NullLogger<RedisConnection>.Instance);
        using var linkB = new RedisConnection(redis.Configuration, "bus-tests", NullLogger<RedisConnection>.Instance);
        var a = new RedisClusterBus(linkA, new InstanceIdentity("a", 1), TimeProvider.System, NullLogger<RedisClusterBus>.Instance);
        var b = new RedisClusterBus(linkB, new InstanceIdentity("b", 2), TimeProvider.System, NullLogger<RedisClusterBus>.Instance);
        var heardByB = new ConcurrentQueue<MembershipChanged>();
        a.Subscribe(_ => Task.CompletedTask);
        b.Subscribe(change =>
        {
            heardByB.Enqueue(change);
            return Task.CompletedTask;
        });
        await Timeouts.Eventually(
            async () =>
            {
                await a.PublishAsync(new MembershipChanged("probe", "g", Joined: true), CancellationToken.None);
                return heardByB.Any(c => c.UserId == "probe");
            },
            "B to hear A");

        forwarder.Cut();
        await Timeouts.Eventually(() => Task.FromResult(!linkA.IsAvailable), "A to notice Redis is gone");
        await a.PublishAsync(new MembershipChanged("bob", "hr", Joined: false), CancellationToken.None).WithTimeout(what: "a publish while Redis is down");
        forwarder.Restore();

        await Timeouts.Eventually(
            () => Task.FromResult(heardByB.Contains(new MembershipChanged("bob", "hr", Joined: false))), "B to hear the change made while Redis was down", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_resync_asked_for_runs_unless_one_started_since_the_time_given()
    {
        using var link = new RedisConnection(redis.Configuration, "bus-tests", NullLogger<RedisConnection>.Instance);
        var bus = new RedisClusterBus(link, new InstanceIdentity("a", 1), TimeProvider.System, NullLogger<RedisClusterBus>.Instance);
        var resyncs = 0;
        bus.SubscribeResync(_ =>
        {
            Interlocked.Increment(ref resyncs);
            return Task.CompletedTask;
        });

        // Replays after one outage each ask with the end of their window: the first runs it, the others find it done.
        var windowEnd = DateTime.UtcNow;
        await bus.ResyncNowAsync(windowEnd, CancellationToken.None).WithTimeout(what: "the first resync");
        await bus.ResyncNowAsync(windowEnd, CancellationToken.None).WithTimeout(what: "the second ask");
        Assert.Equal(1, resyncs);

        // A window that ends after it started: changes in it may not have been read.
        await bus.ResyncNowAsync(DateTime.UtcNow.AddSeconds(1), CancellationToken.None).WithTimeout(what: "a later window's resync");
        Assert.Equal(2, resyncs);
    }
}
