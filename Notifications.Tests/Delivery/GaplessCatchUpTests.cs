using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;
using Npgsql;

namespace Notifications.Tests.Delivery;

/// <summary>
/// The cursor promise: a client that keeps the highest id it has seen and syncs after it never misses one, even
/// while many senders commit at once with their transactions held open for random times.
/// </summary>
public abstract class GaplessCatchUpTests(DeliveryFixture service)
{
    private const int Senders = 8;
    private const int SendsPerSender = 25;

    // 200 sends queue behind one lock; on a loaded 2-core machine one request may wait long, which is not a failure.
    private static readonly TimeSpan SlowMachineTimeout = TimeSpan.FromSeconds(60);

    protected DeliveryFixture Service => service;

    private sealed record Profile(string User, string[] Roles, string[] Groups);

    private sealed record Sent(long Id, Audience Audience);

    [Fact]
    public async Task Clients_syncing_at_random_moments_during_concurrent_sends_end_with_exactly_what_they_may_see()
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        string[] roles = [$"r0-{run}", $"r1-{run}"];
        string[] groups = [$"g0-{run}", $"g1-{run}"];
        Profile[] profiles =
        [
            new($"u0-{run}", [roles[0]], [groups[0]]),
            new($"u1-{run}", [roles[1]], [groups[1]]),
            new($"u2-{run}", [], [groups[0], groups[1]]),
            new($"u3-{run}", [roles[0], roles[1]], []),
            new($"u4-{run}", [], []),
        ];
        await CreateGroupsAsync(profiles, groups);
        var start = await service.MaxNotificationIdAsync();

        var sent = new ConcurrentBag<Sent>();
        var senders = Task.WhenAll(Enumerable.Range(0, Senders).Select(s => Task.Run(() => SendManyAsync(s, run, profiles, roles, groups, sent))));
        var clients = profiles.Select((profile, index) => Task.Run(() => CatchUpAsync(profile, index, start, senders))).ToArray();
        await senders.WithTimeout(TimeSpan.FromSeconds(180), "the concurrent senders");
        var seen = await Task.WhenAll(clients).WithTimeout(TimeSpan.FromSeconds(60), "the clients' final catch-up");

        Assert.Equal(Senders * SendsPerSender, sent.Count);
        for (var i = 0; i < profiles.Length; i++)
        {
            var profile = profiles[i];
            var viewer = Viewer.Of(profile.User, profile.Roles);
            var memberships = profile.Groups.Select(g => new Membership(g, DateTime.MinValue)).ToList();
            var expected = sent.Where(s => Visibility.Sees(viewer, memberships, s.Audience, DateTime.UtcNow)).Select(s => s.Id).Order().ToList();
            Assert.NotEmpty(expected);

            // Strictly ascending means every id came exactly once and no page went backwards.
            Assert.True(seen[i].Zip(seen[i].Skip(1)).All(p => p.First < p.Second), $"{profile.User} got ids out of order or twice");
            Assert.Equal(expected, seen[i]);
        }
    }

    [Fact]
    public async Task Expired_notifications_are_deleted_by_the_background_cleanup()
    {
        var user = TestUsers.New("exp", 16);
        var id = await service.SendAsync("admin-1", new
        {
            type = "test.expiring",
            title = "gone soon",
            expiresAt = DateTime.UtcNow.AddSeconds(3),
            audience = new { users = new[] { user } },
        });
        Assert.True(await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == id)));

        await Timeouts.Eventually(
            async () => !await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == id)),
            "the cleanup job deleted the expired notification",
            TimeSpan.FromSeconds(30));
    }

    private async Task CreateGroupsAsync(Profile[] profiles, string[] groups)
    {
        using var admin = service.Client("admin-gap", "admin");
        foreach (var group in groups)
        {
            await admin.CreateGroupAsync(group, "restricted");
        }

        foreach (var profile in profiles)
        {
            foreach (var group in profile.Groups)
            {
                Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{profile.User}", null)).StatusCode);
            }
        }
    }

    private async Task SendManyAsync(int sender, string run, Profile[] profiles, string[] roles, string[] groups, ConcurrentBag<Sent> sent)
    {
        var random = new Random(sender);
        using var http = service.Client($"sender-{sender}", "admin");
        http.Timeout = SlowMachineTimeout;
        for (var i = 0; i < SendsPerSender; i++)
        {
            var audience = RandomAudience(random, run, profiles, roles, groups);
            using var response = await http.PostAsJsonAsync("api/notifications", new
            {
                type = "test.gapless",
                title = $"{sender}-{i}",
                audience = new { users = audience.Users, roles = audience.Roles, groups = audience.Groups, everyone = audience.Everyone },
            });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var result = await response.Content.ReadFromJsonAsync<Api.Sending.SendResult>();
            sent.Add(new Sent(result!.Id, audience));
        }
    }

    private static Audience RandomAudience(Random random, string run, Profile[] profiles, string[] roles, string[] groups)
    {
        string User() => random.Next(6) == 0 ? $"nobody-{run}" : profiles[random.Next(profiles.Length)].User;
        return random.Next(6) switch
        {
            0 => new Audience(users: [User(), User()]),
            1 => new Audience(roles: [roles[random.Next(roles.Length)]]),
            2 => new Audience(groups: [groups[random.Next(groups.Length)]]),
            3 => new Audience(everyone: true),
            _ => new Audience(users: [User()], roles: [roles[random.Next(roles.Length)]], groups: [groups[random.Next(groups.Length)]]),
        };
    }

    /// <summary>
    /// A client as the contract describes it: keep the highest id seen, sync after it, at random moments and with
    /// random page sizes, half over the hub and half over REST; then one final catch-up once the senders are done.
    /// </summary>
    private async Task<List<long>> CatchUpAsync(Profile profile, int index, long start, Task sendersDone)
    {
        var random = new Random(100 + index);
        await using var hub = index % 2 == 0 ? await service.ConnectAsync(profile.User, profile.Roles) : null;
        using var http = service.Client(profile.User, profile.Roles);
        http.Timeout = SlowMachineTimeout;
        var cursor = start;
        var seen = new List<long>();

        async Task<bool> SyncOnceAsync()
        {
            var limit = random.Next(1, 40);
            var page = hub is not null
                ? await hub.Connection.InvokeAsync<SyncPage>("Sync", cursor, limit).WithTimeout(SlowMachineTimeout, "a hub sync")
                : (await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={cursor}&limit={limit}"))!;
            seen.AddRange(page.Items.Select(n => n.Id));
            Assert.True(page.Cursor >= cursor, "the cursor went backwards");
            cursor = page.Cursor;
            return page.HasMore;
        }

        while (!sendersDone.IsCompleted)
        {
            await Task.Delay(random.Next(0, 25));
            await SyncOnceAsync();
        }

        while (await SyncOnceAsync())
        {
        }

        return seen;
    }
}

public sealed class SqliteGaplessCatchUpTests(SqliteGaplessFixture service) : GaplessCatchUpTests(service), IClassFixture<SqliteGaplessFixture>;

public sealed class PostgresGaplessCatchUpTests(PostgresGaplessFixture service) : GaplessCatchUpTests(service), IClassFixture<PostgresGaplessFixture>
{
    /// <summary>
    /// Pins the mechanism behind the cursor: a send waits on the send-order lock while an earlier send that drew a
    /// lower id is still uncommitted, so no reader can see the later id first.
    /// </summary>
    [Fact]
    public async Task A_send_waits_for_an_earlier_uncommitted_send_so_ids_become_visible_in_order()
    {
        var user = TestUsers.New("order", 16);
        var start = await Service.MaxNotificationIdAsync();
        await using var earlier = new PostgresNotificationsDbContext(
            new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql(Service.ConnectionString).Options);
        await using var transaction = await earlier.Database.BeginTransactionAsync().WithTimeout(what: "the earlier transaction");
        await earlier.AcquireSendOrderLockAsync(CancellationToken.None).WithTimeout(what: "the send-order lock");
        var held = new Notification
        {
            Type = "test.order",
            Title = "earlier, committed late",
            SenderId = "test",
            CreatedAt = DateTime.UtcNow,
            Audience = [new NotificationAudience { Kind = AudienceKind.User, Value = user }],
        };
        earlier.Notifications.Add(held);
        await earlier.SaveChangesAsync().WithTimeout(what: "the earlier insert");

        var later = Service.SendAsync("admin-1", new { type = "test.order", title = "later", audience = new { users = new[] { user } } });
        await Timeouts.Eventually(() => AdvisoryLockWaitersAsync(Service.ConnectionString), "the later send waits on the send-order lock");
        using var http = Service.Client(user);
        var during = await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={start}");
        Assert.Empty(during!.Items);
        Assert.False(later.IsCompleted);

        await transaction.CommitAsync().WithTimeout(what: "the earlier commit");
        var laterId = await later.WithTimeout(what: "the later send");

        Assert.True(laterId > held.Id);
        var after = await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={start}");
        Assert.Equal([held.Id, laterId], after!.Items.Select(n => n.Id));
    }

    private static async Task<bool> AdvisoryLockWaitersAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }
}
