using System.Text;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// The cluster's broadcast channel over a real redis-server: pushes that arrive while the instance is still writing
/// the previous one reach its connections in one write, in the order they were published.
/// </summary>
public sealed class BroadcastChannelTests : IAsyncLifetime
{
    private RedisServer redis = null!;

    public async Task InitializeAsync() => redis = await RedisServer.StartAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    private static SerializedMessage[] Push(int n) =>
    [
        new("json", Encoding.UTF8.GetBytes($"{{\"type\":1,\"target\":\"ReceiveNotification\",\"arguments\":[{{\"id\":{n}}}]}}\u001e")),
        new("messagepack", new byte[] { 0x03, 0x91, 0x01, (byte)n }),
    ];

    [Fact]
    public async Task Pushes_that_arrive_during_a_write_go_out_together_in_one_write_in_publish_order()
    {
        using var connection = new RedisConnection(redis.Configuration, $"test-{Guid.NewGuid():N}", NullLogger<RedisConnection>.Instance);
        var writes = Channel.CreateUnbounded<IReadOnlyList<SerializedMessage>>();
        var firstWriteStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var releaseFirstWrite = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var channel = new RedisBroadcastChannel(connection, async push =>
        {
            writes.Writer.TryWrite(push);
            if (firstWriteStarted.TrySetResult())
            {
                await releaseFirstWrite.Task;
            }
        }, TimeProvider.System, NullLogger.Instance);
        try
        {
            channel.Start();
            await Timeouts.Eventually(() => Task.FromResult(channel.IsListening), "the broadcast channel's subscription");

            Assert.True(await channel.PublishAsync(Push(1)).WithTimeout(what: "the first publish"));
            await firstWriteStarted.Task.WithTimeout(what: "the first write");
            foreach (var n in new[] { 2, 3, 4 })
            {
                await channel.PublishAsync(Push(n)).WithTimeout(what: $"publish {n}");
            }

            await Timeouts.Eventually(() => Task.FromResult(channel.Pending == 3), "three pushes waiting behind the first write");
            releaseFirstWrite.SetResult();

            Assert.Equal(Push(1).Select(Bytes), (await writes.Reader.ReadAsync().AsTask().WithTimeout(what: "the first write")).Select(Bytes));
            var together = await writes.Reader.ReadAsync().AsTask().WithTimeout(what: "the second write");
            Assert.Equal(["json", "messagepack"], together.Select(p => p.ProtocolName));
            Assert.Equal([.. Push(2)[0].Serialized.ToArray(), .. Push(3)[0].Serialized.ToArray(), .. Push(4)[0].Serialized.ToArray()], Bytes(together[0]));
            Assert.Equal([.. Push(2)[1].Serialized.ToArray(), .. Push(3)[1].Serialized.ToArray(), .. Push(4)[1].Serialized.ToArray()], Bytes(together[1]));
            Assert.False(writes.Reader.TryRead(out _));
        }
        finally
        {
            releaseFirstWrite.TrySetResult();
            channel.Stop();
        }
    }

    [Fact]
    public async Task A_channel_started_while_Redis_is_down_subscribes_once_it_is_up_and_its_pushes_come_back()
    {
        await redis.KillAsync();
        using var connection = new RedisConnection(redis.Configuration, $"test-{Guid.NewGuid():N}", NullLogger<RedisConnection>.Instance);
        var writes = Channel.CreateUnbounded<IReadOnlyList<SerializedMessage>>();
        var channel = new RedisBroadcastChannel(connection, push => writes.Writer.WriteAsync(push).AsTask(), TimeProvider.System, NullLogger.Instance);
        try
        {
            await Task.Run(channel.Start).WithTimeout(what: "the channel to start without Redis");
            Assert.False(channel.IsListening);

            await redis.StartProcessAsync();
            await Timeouts.Eventually(() => Task.FromResult(channel.IsListening), "the subscription once Redis is up", TimeSpan.FromSeconds(30));

            Assert.True(await channel.PublishAsync(Push(5)).WithTimeout(what: "a publish"));
            Assert.Equal(Push(5).Select(Bytes), (await writes.Reader.ReadAsync().AsTask().WithTimeout(what: "the push back")).Select(Bytes));
        }
        finally
        {
            channel.Stop();
        }
    }

    [Fact]
    public async Task In_a_busy_stream_a_push_that_arrives_alone_waits_a_moment_for_the_next_and_they_go_out_in_one_write()
    {
        var clock = new SteppedClock();
        using var recording = await RecordingChannel.StartAsync(redis, clock);
        var channel = recording.Channel;
        Assert.True(await channel.PublishAsync(Push(1)).WithTimeout(what: "the first publish"));
        Assert.Equal(Push(1).Select(Bytes), (await recording.NextWriteAsync("the first write")).Select(Bytes));

        // The clock stands still: the next push comes well within the busy interval.
        await channel.PublishAsync(Push(2)).WithTimeout(what: "publish 2");
        await Timeouts.Eventually(() => Task.FromResult(clock.Waiting == 1), "the second push waiting for company");
        await channel.PublishAsync(Push(3)).WithTimeout(what: "publish 3");
        await Timeouts.Eventually(() => Task.FromResult(channel.Pending == 2), "the third push behind the second");
        Assert.False(recording.Writes.TryRead(out _));

        clock.Advance(RedisBroadcastChannel.Linger);

        var together = await recording.NextWriteAsync("the second write");
        Assert.Equal([.. Push(2)[0].Serialized.ToArray(), .. Push(3)[0].Serialized.ToArray()], Bytes(together[0]));
        Assert.Equal([.. Push(2)[1].Serialized.ToArray(), .. Push(3)[1].Serialized.ToArray()], Bytes(together[1]));
    }

    [Fact]
    public async Task In_a_quiet_stream_each_push_goes_out_at_once()
    {
        var clock = new SteppedClock();
        using var recording = await RecordingChannel.StartAsync(redis, clock);
        foreach (var n in new[] { 1, 2, 3 })
        {
            // Nothing moves the clock but the test: a push that had to wait for company would never be written.
            Assert.True(await recording.Channel.PublishAsync(Push(n)).WithTimeout(what: $"publish {n}"));
            Assert.Equal(Push(n).Select(Bytes), (await recording.NextWriteAsync($"write {n}")).Select(Bytes));
            clock.Advance(RedisBroadcastChannel.BusyInterval);
        }

        Assert.Equal(0, clock.Waiting);
    }

    private static byte[] Bytes(SerializedMessage message) => message.Serialized.ToArray();

    /// <summary>A broadcast channel over the test's redis-server, subscribed, that records what it writes.</summary>
    private sealed class RecordingChannel : IDisposable
    {
        private readonly RedisConnection connection;
        private readonly Channel<IReadOnlyList<SerializedMessage>> writes = System.Threading.Channels.Channel.CreateUnbounded<IReadOnlyList<SerializedMessage>>();

        private RecordingChannel(RedisServer redis, TimeProvider clock)
        {
            connection = new RedisConnection(redis.Configuration, $"test-{Guid.NewGuid():N}", NullLogger<RedisConnection>.Instance);
            Channel = new RedisBroadcastChannel(connection, push => writes.Writer.WriteAsync(push).AsTask(), clock, NullLogger.Instance);
        }

        public RedisBroadcastChannel Channel { get; }

        public ChannelReader<IReadOnlyList<SerializedMessage>> Writes => writes.Reader;

        public static async Task<RecordingChannel> StartAsync(RedisServer redis, SteppedClock clock)
        {
            var recording = new RecordingChannel(redis, clock);
            recording.Channel.Start();

            // A subscribe that fails (the first connect of a busy test run can time out) is retried a second later on
            // this clock, which only the test moves.
            await Timeouts.Eventually(
                () =>
                {
                    if (!recording.Channel.IsListening && clock.Waiting > 0)
                    {
                        clock.Advance(TimeSpan.FromSeconds(1));
                    }

                    return Task.FromResult(recording.Channel.IsListening);
                },
                "the broadcast channel's subscription");
            return recording;
        }

        public Task<IReadOnlyList<SerializedMessage>> NextWriteAsync(string what) => writes.Reader.ReadAsync().AsTask().WithTimeout(what: what);

        public void Dispose()
        {
            Channel.Stop();
            connection.Dispose();
        }
    }
}
