using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Api.Sending;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// What the replay of a missed window pushes to an instance's own connections, read from the inbox (SQLite, the
/// fixture's clock): which notifications, to which targets, in which order; and what it skips or refuses. The pushes are
/// recorded instead of written (see <see cref="RecordingPushes"/>).
/// </summary>
public sealed class MissedPushReplayerTests(MissedPushReplayerTests.Fixture service) : IClassFixture<MissedPushReplayerTests.Fixture>
{
    private static readonly TimeSpan Step = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_window_is_pushed_to_its_targets_here_in_id_order_its_group_pushes_to_members_of_their_time_without_retracted_or_expired_ones()
    {
        var group = $"g-{Guid.NewGuid():N}"[..16];
        var (user, member, late) = (TestUsers.New("user"), TestUsers.New("member"), TestUsers.New("late"));
        using var admin = service.LongClient("admin-replay", "admin");
        await admin.CreateGroupAsync(group, "open");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{member}", null)).StatusCode);

        var from = Now();
        service.Clock.Advance(Step);
        var toUser = await SendAsync(new { type = "t.user", title = "to a user", audience = new { users = new[] { user } } });
        var toParts = await SendAsync(new { type = "t.parts", title = "to a user and a role", audience = new { users = new[] { user }, roles = new[] { "ops" } } });
        var beforeJoin = await service.SendAsAdminAsync(new { type = "t.group", title = "before the join", audience = new { groups = new[] { group } } });
        var retracted = await SendAsync(new { type = "t.user", title = "retracted", audience = new { users = new[] { user } } });
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{retracted}")).StatusCode);
        var expiring = await SendAsync(new { type = "t.user", title = "expires", expiresAt = Now().AddSeconds(30), audience = new { users = new[] { user } } });
        var firstBroadcast = await SendAsync(new { type = "t.all", title = "everyone 1", audience = new { everyone = true } });
        var secondBroadcast = await SendAsync(new { type = "t.all", title = "everyone 2", audience = new { everyone = true } });
        service.Clock.Advance(Step);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{late}", null)).StatusCode);
        service.Clock.Advance(Step);
        var afterJoin = await service.SendAsAdminAsync(new { type = "t.group", title = "after the join", audience = new { groups = new[] { group } } });
        service.Clock.Advance(TimeSpan.FromMinutes(1));
        var to = Now();

        var pushes = new RecordingPushes();
        await Replayer(pushes).ReplayAsync(pushes, new MissedWindow(from, to), CancellationToken.None).WithTimeout(what: "the replay");

        Assert.Equal(
        [
            // The page has group sends: members who left or joined unheard are moved first (unless a resync started
            // after the window).
            $"resync unless one started since {to.Ticks}",
            $"users [{user}] groups [] {toUser}",
            $"users [{user}] groups [role:ops] {toParts}",

            // A group push carries its send's createdAt: the lifetime manager leaves out, as it writes to each connection,
            // members who joined after it (through a replay: OutageReplayTests.When_only_one_instance_loses_Redis_…).
            $"users [] groups [group:{group}] joined by {beforeJoin.CreatedAt.Ticks} {beforeJoin.Id}",

            // Two broadcasts in a row: one write to each connection.
            $"everyone {firstBroadcast} {secondBroadcast}",
            $"users [] groups [group:{group}] joined by {afterJoin.CreatedAt.Ticks} {afterJoin.Id}",
        ], pushes.Written);
        Assert.DoesNotContain(pushes.Written, push => push.EndsWith($" {retracted}", StringComparison.Ordinal) || push.EndsWith($" {expiring}", StringComparison.Ordinal));
        Assert.Equal(0, pushes.Reconnects);
    }

    [Fact]
    public async Task What_an_earlier_window_pushed_is_skipped_and_a_window_over_the_cap_closes_the_connections_here_instead()
    {
        var user = TestUsers.New("user");
        var from = Now();
        service.Clock.Advance(Step);
        var first = await SendAsync(TestUsers.Notification("first", user));
        var second = await SendAsync(TestUsers.Notification("second", user));
        service.Clock.Advance(Step);
        var firstTo = Now();
        service.Clock.Advance(Step);
        var third = await SendAsync(TestUsers.Notification("third", user));
        service.Clock.Advance(Step);
        var secondTo = Now();

        // After Redis died, every instance asks about about the same window: the second pushes only what the first did not.
        // No group sends: no resync.
        var pushes = new RecordingPushes();
        var replayer = Replayer(pushes);
        await replayer.ReplayAsync(pushes, new MissedWindow(from, firstTo), CancellationToken.None).WithTimeout(what: "the first replay");
        await replayer.ReplayAsync(pushes, new MissedWindow(from, secondTo), CancellationToken.None).WithTimeout(what: "the second replay");
        await replayer.ReplayAsync(pushes, new MissedWindow(from, secondTo), CancellationToken.None).WithTimeout(what: "the same window again");
        Assert.Equal([$"users [{user}] groups [] {first}", $"users [{user}] groups [] {second}", $"users [{user}] groups [] {third}"], pushes.Written);
        Assert.Equal(3, replayer.WindowsHandled);

        // Three in the window, more than the cap: nothing is pushed, the connections here are closed to reconnect and Sync.
        var capped = Replayer(maxPerWindow: 2);
        var refused = new RecordingPushes();
        await capped.ReplayAsync(refused, new MissedWindow(from, secondTo), CancellationToken.None).WithTimeout(what: "the capped replay");
        Assert.Empty(refused.Written);
        Assert.Equal(1, refused.Reconnects);
    }

    [Fact]
    public void The_uncovered_parts_of_a_window_are_what_no_earlier_window_covers()
    {
        var t = new DateTime(2026, 11, 25, 21, 0, 0, DateTimeKind.Utc);
        MissedWindow Window(int from, int to) => new(t.AddSeconds(from), t.AddSeconds(to));

        Assert.Equal([Window(0, 10)], MissedPushReplayer.Uncovered(Window(0, 10), []));
        Assert.Equal([Window(0, 10)], MissedPushReplayer.Uncovered(Window(0, 10), [Window(11, 20)]));
        Assert.Empty(MissedPushReplayer.Uncovered(Window(2, 8), [Window(0, 10)]));
        Assert.Equal([Window(8, 12)], MissedPushReplayer.Uncovered(Window(0, 12), [Window(-5, 8)]));
        Assert.Equal([Window(0, 3), Window(7, 10)], MissedPushReplayer.Uncovered(Window(0, 10), [Window(3, 5), Window(5, 7)]));
        Assert.Equal([Window(0, 3), Window(9, 10)], MissedPushReplayer.Uncovered(Window(0, 10), [Window(3, 5), Window(4, 9)]));
    }

    private DateTime Now() => service.Clock.GetUtcNow().UtcDateTime;

    private async Task<long> SendAsync(object request) => (await service.SendAsAdminAsync(request)).Id;

    private MissedPushReplayer Replayer(RecordingPushes? resyncsTo = null, int maxPerWindow = MissedPushReplayer.DefaultMaxPerWindow) =>
        new(
            service.Services.GetRequiredService<HubLifetimeManager<NotificationHub>>(),
            new ResyncRecordingBus(service.Services.GetRequiredService<IClusterBus>(), resyncsTo ?? new RecordingPushes()),
            service.Services.GetRequiredService<IServiceScopeFactory>(),
            service.Clock,
            NullLogger<MissedPushReplayer>.Instance)
        {
            MaxPerWindow = maxPerWindow,
        };

    public sealed class Fixture : DeliveryFixture
    {
        protected override bool OnPostgres => false;
    }

    /// <summary>The service's bus, with each <see cref="IClusterBus.ResyncNowAsync"/> recorded among the pushes (in-memory: it resyncs nothing).</summary>
    private sealed class ResyncRecordingBus(IClusterBus bus, RecordingPushes log) : IClusterBus
    {
        public Task ResyncNowAsync(DateTime notBefore, CancellationToken cancellationToken)
        {
            log.Record($"resync unless one started since {notBefore.Ticks}");
            return bus.ResyncNowAsync(notBefore, cancellationToken);
        }

        public Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken) => bus.PublishAsync(change, cancellationToken);

        public void Subscribe(Func<MembershipChanged, Task> handler) => bus.Subscribe(handler);

        public void SubscribeResync(Func<CancellationToken, Task> handler) => bus.SubscribeResync(handler);

        public Task PublishAsync(ReadStateChanged change, CancellationToken cancellationToken) => bus.PublishAsync(change, cancellationToken);

        public void SubscribeReadState(Func<ReadStateChanged, Task> handler) => bus.SubscribeReadState(handler);

        public Task ReportAsync(InstanceReport report, CancellationToken cancellationToken) => bus.ReportAsync(report, cancellationToken);

        public Task WithdrawReportAsync(string instanceId) => bus.WithdrawReportAsync(instanceId);

        public Task<IReadOnlyList<InstanceReport>> GetReportsAsync(CancellationToken cancellationToken) => bus.GetReportsAsync(cancellationToken);
    }

    /// <summary>Records each push as "everyone ids" or "users [...] groups [...] [joined by ticks] id"; a batch of pushes is one entry.</summary>
    private sealed class RecordingPushes : IMissedPushes
    {
        private static readonly JsonHubProtocol Json = new();
        private readonly List<string> written = [];

        public IReadOnlyList<string> Written
        {
            get
            {
                lock (written)
                {
                    return [.. written];
                }
            }
        }

        public int Reconnects { get; private set; }

        public void OnReplayRequested(Func<MissedWindow, Task> handler)
        {
        }

        public Task WriteToEveryoneHereAsync(string methodName, object?[] args)
        {
            Record($"everyone {string.Join(' ', IdsOf(methodName, args))}");
            return Task.CompletedTask;
        }

        public Task WriteToAudienceHereAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args)
        {
            var joinedBy = groupsJoinedBy is { } limit ? $" joined by {limit.Ticks}" : "";
            Record($"users [{string.Join(',', userIds)}] groups [{string.Join(',', groupNames)}]{joinedBy} {string.Join(' ', IdsOf(methodName, args))}");
            return Task.CompletedTask;
        }

        public void ReconnectEveryoneHere() => Reconnects++;

        public void Record(string push)
        {
            lock (written)
            {
                written.Add(push);
            }
        }

        /// <summary>The ids pushed as ReceiveNotification, read from the push as a client would read it.</summary>
        private static IEnumerable<long> IdsOf(string methodName, object?[] args)
        {
            if (methodName != PushBatch.Target)
            {
                Assert.Equal("ReceiveNotification", methodName);
                return [Assert.IsType<NotificationDto>(args[0]).Id];
            }

            var output = new ArrayBufferWriter<byte>();
            PushBatch.In(new InvocationMessage(methodName, args))!.WriteTo(Json, output);
            return Encoding.UTF8.GetString(output.WrittenSpan).Split('\u001e', StringSplitOptions.RemoveEmptyEntries).Select(record =>
            {
                using var json = JsonDocument.Parse(record);
                Assert.Equal("ReceiveNotification", json.RootElement.GetProperty("target").GetString());
                return json.RootElement.GetProperty("arguments")[0].GetProperty("id").GetInt64();
            }).ToList();
        }
    }
}
