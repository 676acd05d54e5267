using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Tests.Infrastructure;
using Xunit.Abstractions;
using static Notifications.Tests.ScaleOut.ScaleOutCluster;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// The Redis backplane of two real instances, with Redis killed and started again: readiness follows Redis, each
/// instance keeps serving its own clients meanwhile, delivery across instances comes back on its own, inboxes stay
/// complete. Only this class connects clients to its cluster, so the admin stats can be checked exactly.
/// </summary>
[Collection(ScaleOutCollection.Name)]
public sealed class BackplaneTests(BackplaneCluster cluster, ITestOutputHelper output) : IClassFixture<BackplaneCluster>
{
    private static readonly TimeSpan ResumeBound = TimeSpan.FromSeconds(10);

    private ServiceProcess A => cluster.A;

    private ServiceProcess B => cluster.B;

    [Fact]
    public async Task Readiness_and_admin_stats_report_Redis_down_and_back_up()
    {
        await AllReadyAsync();
        await Timeouts.Eventually(async () => await StatsAsync(A) is { Instances: 2, Partial: false }, "instance A counting both instances");

        await cluster.Redis.KillAsync();
        try
        {
            foreach (var instance in cluster.Instances)
            {
                await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.ServiceUnavailable, $"instance :{instance.Port} is unready without Redis");
                using var live = new HttpClient { BaseAddress = instance.BaseUri, Timeout = Timeouts.Default };
                Assert.Equal(HttpStatusCode.OK, (await live.GetAsync("health/live")).StatusCode);

                // The stats still answer, saying they are this instance's only.
                Assert.True(await StatsAsync(instance) is { Instances: 1, Partial: true }, $"instance :{instance.Port} stats marked partial");
            }
        }
        finally
        {
            await cluster.Redis.StartProcessAsync();
        }

        await AllReadyAsync();
        await Timeouts.Eventually(async () => await StatsAsync(A) is { Instances: 2, Partial: false }, "instance A counting both instances again");
    }

    [Fact]
    public async Task Redis_outage_keeps_local_delivery_then_cross_instance_delivery_resumes_and_no_inbox_misses_anything()
    {
        await AllReadyAsync();
        var inbox = new ExpectedInboxes();
        var role = $"r{Guid.NewGuid():N}"[..10];
        var group = $"outage-{Guid.NewGuid():N}"[..18];
        await CreateGroupAsync(A, group, "open");
        var (a1, a2, a3, b1) = (TestUsers.New("a1"), TestUsers.New("a2"), TestUsers.New("a3"), TestUsers.New("b1"));
        await using var a1OnA = await ConnectAsync(A, a1, role);
        await using var a2OnA = await ConnectAsync(A, a2);
        await using var b1OnB = await ConnectAsync(B, b1, role);
        await a1OnA.InvokeAsync<object>("Subscribe", group);
        var before = inbox.Add(await SendAsync(B, TestUsers.Notification("before", a1)), a1);
        await a1OnA.ReceiveUntilAsync(before);

        using var stopSteady = new CancellationTokenSource();
        var steady = SteadySendsAsync(inbox, [a1, a2, b1], stopSteady.Token);
        try
        {
            await cluster.Redis.KillAsync();
            foreach (var instance in cluster.Instances)
            {
                await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.ServiceUnavailable, $"instance :{instance.Port} noticed Redis is gone");
            }

            // Each instance still pushes to its own clients: by user, role, group and to everyone.
            var userOnA = inbox.Add(await SendAsync(A, TestUsers.Notification("local on A", a1)), a1);
            await a1OnA.ReceiveUntilAsync(userOnA);
            var userOnB = inbox.Add(await SendAsync(B, TestUsers.Notification("local on B", b1)), b1);
            await b1OnB.ReceiveUntilAsync(userOnB);
            var roleOnA = inbox.Add(await SendAsync(A, new { type = "ops.alert", title = "role", audience = new { roles = new[] { role } } }), a1, b1);
            await a1OnA.ReceiveUntilAsync(roleOnA);
            var groupOnA = inbox.Add(await SendAsync(A, GroupSend(group, "group during outage")), a1);
            await a1OnA.ReceiveUntilAsync(groupOnA);
            var severalParts = new { users = new[] { a1, a2 }, roles = new[] { role }, groups = new[] { group } };
            var severalPartsOnA = inbox.Add(await SendAsync(A, new { type = "ops.alert", title = "several parts", audience = severalParts }), a1, a2, b1);
            var afterSeveralParts = inbox.Add(await SendAsync(A, TestUsers.Notification("after several parts", a1)), a1);
            await a1OnA.ReceiveUntilAsync(severalPartsOnA);
            Assert.DoesNotContain(severalPartsOnA, (await a1OnA.ReceiveUntilAsync(afterSeveralParts)).Select(n => n.Id));
            await a2OnA.ReceiveUntilAsync(severalPartsOnA);
            var everyoneOnB = inbox.Add(await SendAsync(B, new { type = "system.notice", title = "all", audience = new { everyone = true } }), a1, a2, a3, b1);
            await b1OnB.ReceiveUntilAsync(everyoneOnB);

            // A client that connects and subscribes while Redis is down is served too. (When Redis is back, the
            // instance closes such connections so that they register afresh; the client reconnects and syncs.)
            await using var a3OnA = await ConnectReconnectingAsync(A, a3);
            await a3OnA.InvokeAsync<object>("Subscribe", group);
            var secondGroupOnA = inbox.Add(await SendAsync(A, GroupSend(group, "group to the newcomer")), a1, a3);
            await a3OnA.ReceiveUntilAsync(secondGroupOnA);
            await a1OnA.ReceiveUntilAsync(secondGroupOnA);

            await cluster.Redis.StartProcessAsync();
            var sinceRestart = Stopwatch.StartNew();
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} Redis answers again");

            // Across instances again, both ways, without restarting anything; also for a connection made after Redis
            // returned and for the client that connected and joined a group during the outage.
            await ResumesAsync(inbox, via: A, b1, b1OnB);
            await ResumesAsync(inbox, via: B, a1, a1OnA);
            var a4 = TestUsers.New("a4");
            await using var a4OnA = await ConnectAsync(A, a4);
            await ResumesAsync(inbox, via: B, a4, a4OnA);
            await ResumesAsync(inbox, via: B, a3, a3OnA);
            var resumedAfter = sinceRestart.Elapsed;
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} delivery across instances resumed");
            var groupFromB = inbox.Add(await SendAsync(B, GroupSend(group, "group across again")), a1, a3);
            await a3OnA.ReceiveUntilAsync(groupFromB);
            await a1OnA.ReceiveUntilAsync(groupFromB);
            output.WriteLine($"Cross-instance delivery resumed {resumedAfter.TotalSeconds:0.0} s after Redis answered again.");

            await stopSteady.CancelAsync();
            var steadySent = await steady.WithTimeout(what: "the steady sends to stop");
            output.WriteLine($"{steadySent} steady sends through both instances during the test.");

            foreach (var (user, client) in new[] { (a1, a1OnA), (a2, a2OnA), (a3, a3OnA), (b1, b1OnB) })
            {
                var page = await client.SyncAsync(0);
                Assert.False(page.HasMore);
                Assert.Empty(inbox.For(user).Except(page.Items.Select(n => n.Id)));
            }
        }
        catch
        {
            output.WriteLine($"{DateTime.Now:HH:mm:ss.fff} failed");
            await DumpDiagnosticsAsync();
            throw;
        }
        finally
        {
            await stopSteady.CancelAsync();
            if (!(await cluster.Redis.PingAsync()).Contains("PONG", StringComparison.Ordinal))
            {
                await cluster.Redis.StartProcessAsync();
            }
        }
    }

    [Fact]
    public async Task Group_changes_made_while_Redis_was_down_reach_the_other_instance_once_it_is_back()
    {
        await AllReadyAsync();
        var group = $"resync-{Guid.NewGuid():N}"[..18];
        await CreateGroupAsync(A, group, "open");
        var (leaver, joiner) = (TestUsers.New("leaver"), TestUsers.New("joiner"));
        await using var leaverOnB = await ConnectAsync(B, leaver);
        await using var joinerOnB = await ConnectAsync(B, joiner);
        await leaverOnB.InvokeAsync<object>("Subscribe", group);

        await cluster.Redis.KillAsync();
        try
        {
            foreach (var instance in cluster.Instances)
            {
                await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.ServiceUnavailable, $"instance :{instance.Port} noticed Redis is gone");
            }

            // Stored on A, but B cannot hear of them.
            using var admin = A.Client("admin-1", "admin");
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/groups/{group}/members/{leaver}").WithTimeout()).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{joiner}", null).WithTimeout()).StatusCode);
        }
        finally
        {
            await cluster.Redis.StartProcessAsync();
        }

        await AllReadyAsync();

        // B's own sends reach B's connections whichever way it delivers them: only its record of their groups decides.
        await Timeouts.Eventually(
            async () =>
            {
                var toGroup = await SendAsync(B, GroupSend(group, "after the outage"));
                var marker = await SendAsync(B, new { type = "test.marker", title = "marker", audience = new { users = new[] { leaver, joiner } } });
                var leaverGot = await leaverOnB.ReceiveUntilAsync(marker);
                var joinerGot = await joinerOnB.ReceiveUntilAsync(marker);
                return !leaverGot.Any(n => n.Id == toGroup) && joinerGot.Any(n => n.Id == toGroup);
            },
            "B to move the leaver out of the group and the joiner in",
            TimeSpan.FromSeconds(20));

        // Moved while connected, not by closing them.
        Assert.Equal(HubConnectionState.Connected, leaverOnB.Connection.State);
        Assert.Equal(HubConnectionState.Connected, joinerOnB.Connection.State);
    }

    [Fact]
    public async Task Admin_stats_count_connections_on_every_instance()
    {
        await AllReadyAsync();
        var (shared, x, y, z) = (TestUsers.New("shared"), TestUsers.New("x"), TestUsers.New("y"), TestUsers.New("z"));

        // Reconnecting, as real clients are: after the outage test an instance may still close its connections once
        // for repair (see LocalFallbackHubLifetimeManager), and the counts must settle on the clients that are there.
        await using var sharedOnA = await ConnectReconnectingAsync(A, shared);
        await using var xOnA = await ConnectReconnectingAsync(A, x);
        await using var yOnA = await ConnectReconnectingAsync(A, y);
        var sharedOnB = await ConnectReconnectingAsync(B, shared);
        var zOnB = await ConnectReconnectingAsync(B, z);
        try
        {
            await StatsBecomeAsync(connections: 5, users: 4);
        }
        finally
        {
            await sharedOnB.DisposeAsync();
            await zOnB.DisposeAsync();
        }

        await StatsBecomeAsync(connections: 3, users: 3);
    }

    private async Task DumpDiagnosticsAsync()
    {
        var port = cluster.Redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine("--- Redis pub/sub channels ---");
        output.WriteLine(await ProcessRunner.RunAsync("redis-cli", ["-p", port, "PUBSUB", "CHANNELS", "*"], TimeSpan.FromSeconds(5), check: false));
        output.WriteLine(await ProcessRunner.RunAsync("redis-cli", ["-p", port, "CLIENT", "LIST"], TimeSpan.FromSeconds(5), check: false));
        foreach (var (name, instance) in new[] { ("A", A), ("B", B) })
        {
            output.WriteLine($"--- instance {name} (:{instance.Port}), last lines ---");
            foreach (var line in instance.Output.Split('\n').TakeLast(400))
            {
                output.WriteLine(line);
            }
        }
    }

    private async Task StatsBecomeAsync(int connections, int users)
    {
        foreach (var instance in cluster.Instances)
        {
            await Timeouts.Eventually(
                async () => await StatsAsync(instance) is { Instances: 2 } stats && stats.Connections == connections && stats.ConnectedUsers == users,
                $"instance :{instance.Port} reports {connections} connections of {users} users on 2 instances");
        }
    }

    private async Task AllReadyAsync()
    {
        foreach (var instance in cluster.Instances)
        {
            await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.OK, $"instance :{instance.Port} is ready");
        }
    }

    /// <summary>
    /// Sends through <paramref name="via"/> to a user on the other instance, once a second, until one arrives; bounded
    /// by 10 s. One read stays outstanding the whole time (an abandoned timed-out read would swallow the next push).
    /// </summary>
    private async Task ResumesAsync(ExpectedInboxes inbox, ServiceProcess via, string user, HubClient client)
    {
        var probes = new System.Collections.Concurrent.ConcurrentDictionary<long, byte>();
        using var stop = new CancellationTokenSource();
        var probing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                probes[inbox.Add(await SendAsync(via, TestUsers.Notification("probe", user)), user)] = 0;
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
            }
        });
        try
        {
            var clock = Stopwatch.StartNew();
            while (true)
            {
                var remaining = ResumeBound - clock.Elapsed;
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"No send through :{via.Port} reached {user} on the other instance within {ResumeBound.TotalSeconds} s.");
                }

                if (probes.ContainsKey((await client.NextNotificationAsync(remaining)).Id))
                {
                    return;
                }
            }
        }
        catch (TimeoutException)
        {
            var port = cluster.Redis.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            output.WriteLine("--- Redis pub/sub channels while waiting ---");
            output.WriteLine(await ProcessRunner.RunAsync("redis-cli", ["-p", port, "PUBSUB", "CHANNELS", "*"], TimeSpan.FromSeconds(5), check: false));
            throw;
        }
        finally
        {
            await stop.CancelAsync();
            try
            {
                await probing.WithTimeout(what: "the probes to stop");
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private async Task<int> SteadySendsAsync(ExpectedInboxes inbox, string[] users, CancellationToken stop)
    {
        var count = 0;
        while (!stop.IsCancellationRequested)
        {
            var via = count % 2 == 0 ? A : B;
            inbox.Add(await SendAsync(via, TestUsers.Notification($"steady {count}", users)), users);
            count++;
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(150), stop);
            }
            catch (OperationCanceledException)
            {
            }
        }

        return count;
    }

    private static object GroupSend(string group, string title) => new { type = "group.news", title, audience = new { groups = new[] { group } } };

    /// <summary>What each user's inbox must hold at the end.</summary>
    private sealed class ExpectedInboxes
    {
        private readonly Dictionary<string, HashSet<long>> byUser = [];

        public long Add(long id, params string[] users)
        {
            lock (byUser)
            {
                foreach (var user in users)
                {
                    if (!byUser.TryGetValue(user, out var ids))
                    {
                        byUser[user] = ids = [];
                    }

                    ids.Add(id);
                }
            }

            return id;
        }

        public IReadOnlyCollection<long> For(string user)
        {
            lock (byUser)
            {
                return byUser.TryGetValue(user, out var ids) ? [.. ids] : [];
            }
        }
    }
}
