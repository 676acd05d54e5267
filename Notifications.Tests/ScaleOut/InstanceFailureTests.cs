using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http.Connections;
using Notifications.Client;
using Notifications.Tests.Infrastructure;
using Xunit.Abstractions;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// One of two instances behind nginx is killed with SIGKILL while clients (the .NET SDK, automatic reconnect) are
/// connected: its clients get back through nginx to the survivor, sync, and miss nothing.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class InstanceFailureTests(InstanceFailureCluster cluster, ITestOutputHelper output) : IClassFixture<InstanceFailureCluster>
{
    [Fact]
    public async Task Clients_of_a_killed_instance_reconnect_through_nginx_to_the_survivor_with_complete_inboxes()
    {
        var networks = Enumerable.Range(51, 10).ToArray();
        var clients = networks.Select(n => new SdkClient(n, TestUsers.New($"k{n}"), cluster.Nginx!.BaseUri)).ToList();
        try
        {
            foreach (var client in clients)
            {
                await client.StartAsync();
            }

            var nginx = cluster.Nginx!;
            var (victim, survivor) = (cluster.A, cluster.B);
            var onVictim = clients.Where(c => InstanceOf(nginx, c.Network) == $"127.0.0.1:{victim.Port}").ToList();
            Assert.NotEmpty(onVictim);
            Assert.NotEmpty(clients.Except(onVictim));
            var users = clients.Select(c => c.UserId).ToArray();
            var expected = new List<long> { await SendAsync(survivor, TestUsers.Notification("before the crash", users)) };
            await AllReceivedAsync(clients, expected);

            var clock = Stopwatch.StartNew();
            foreach (var client in clients)
            {
                client.Watch(clock);
            }

            await victim.KillAsync();
            for (var i = 0; i < 5; i++)
            {
                expected.Add(await SendAsync(survivor, TestUsers.Notification($"during the reconnect {i}", users)));
            }

            await Timeouts.Eventually(
                () => Task.FromResult(onVictim.All(c => c.ReconnectedAt is not null)),
                "every client of the killed instance is connected again",
                TimeSpan.FromSeconds(30));
            var reconnected = onVictim.Max(c => c.ReconnectedAt!.Value);
            expected.Add(await SendAsync(survivor, TestUsers.Notification("after the crash", users)));
            await AllReceivedAsync(clients, expected);
            var complete = clock.Elapsed;

            Assert.All(onVictim, c => Assert.True(c.WentReconnecting, $"{c.UserId} reconnected automatically"));
            Assert.All(clients.Except(onVictim), c => Assert.False(c.WentReconnecting, $"{c.UserId} on the survivor stayed connected"));
            foreach (var client in onVictim)
            {
                // Its last negotiate went to the survivor (nginx tried the dead instance first, or knew it was down).
                var last = nginx.AccessLog().Last(e => e.RemoteAddress == LoopbackSource.Network(client.Network).ToString() && e.Path == "/hubs/notifications/negotiate");
                Assert.EndsWith($"127.0.0.1:{survivor.Port}", last.Upstream, StringComparison.Ordinal);
                Assert.Equal(200, last.Status);
            }

            var times = onVictim.Select(c => c.ReconnectedAt!.Value.TotalMilliseconds).Order().ToList();
            output.WriteLine(
                $"Killed :{victim.Port} (SIGKILL) holding {onVictim.Count} of {clients.Count} clients. Reconnected through nginx to :{survivor.Port} " +
                $"after {times[0]:0} ms (first), {times[times.Count / 2]:0} ms (median), {reconnected.TotalMilliseconds:0} ms (last) from the kill; " +
                $"every inbox complete ({expected.Count} notifications) {complete.TotalMilliseconds:0} ms after the kill.");
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static string InstanceOf(NginxServer nginx, int network) =>
        nginx.AccessLog().Last(e => e.RemoteAddress == LoopbackSource.Network(network).ToString() && e.Path == "/hubs/notifications/negotiate").Upstream;

    private static Task AllReceivedAsync(IReadOnlyList<SdkClient> clients, IReadOnlyList<long> expected) =>
        Timeouts.Eventually(
            () => Task.FromResult(clients.All(c => expected.All(c.Inbox.ContainsKey))),
            "every client's inbox holds every notification sent to it",
            TimeSpan.FromSeconds(30));

    /// <summary>The SDK client (reconnect, catch-up sync, de-duplication) connecting through nginx from its own network.</summary>
    private sealed class SdkClient : IAsyncDisposable
    {
        private readonly NotificationsClient client;
        private Stopwatch? clock;

        public SdkClient(int network, string userId, Uri nginx)
        {
            Network = network;
            UserId = userId;
            client = new NotificationsClient(new NotificationsClientOptions(nginx, _ => Task.FromResult(TestTokens.For(userId)))
            {
                ConfigureHttpConnection = http =>
                {
                    http.Transports = HttpTransportType.WebSockets;
                    LoopbackSource.Apply(http, LoopbackSource.Network(network), () => TestTokens.For(userId));
                },
            });
            client.NotificationReceived += message =>
            {
                Inbox[message.Id] = 0;
                return Task.CompletedTask;
            };
            client.ConnectionStateChanged += state =>
            {
                if (clock is not null && state == NotificationsConnectionState.Reconnecting)
                {
                    WentReconnecting = true;
                }
                else if (clock is not null && WentReconnecting && state == NotificationsConnectionState.Connected)
                {
                    ReconnectedAt ??= clock.Elapsed;
                }

                return Task.CompletedTask;
            };
        }

        public int Network { get; }

        public string UserId { get; }

        public ConcurrentDictionary<long, byte> Inbox { get; } = new();

        public bool WentReconnecting { get; private set; }

        public TimeSpan? ReconnectedAt { get; private set; }

        public Task StartAsync() => client.StartAsync().WithTimeout(what: $"{UserId} to connect through nginx");

        public void Watch(Stopwatch watch) => clock = watch;

        public async ValueTask DisposeAsync()
        {
            try
            {
                await client.DisposeAsync().AsTask().WaitAsync(Timeouts.Default);
            }
            catch (TimeoutException)
            {
            }
        }
    }
}
