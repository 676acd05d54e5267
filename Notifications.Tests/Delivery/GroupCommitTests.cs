using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Sending;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Sends that arrive together are committed together (one transaction per group); each request must still get
/// exactly the answer it would get alone: a conflict or a replay in the group does not touch the others.
/// </summary>
public abstract class GroupCommitTests(DeliveryFixture service)
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(90);

    private static async Task<(HttpStatusCode Status, SendResult? Result)> SendAsync(HttpClient http, object body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/notifications") { Content = JsonContent.Create(body) };
        request.Headers.Add(SendEndpoints.IdempotencyKeyHeader, key);
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.StatusCode == HttpStatusCode.Created ? JsonSerializer.Deserialize<SendResult>(text, DeliveryFixture.Json) : null);
    }

    [Fact]
    public async Task Concurrent_new_sends_replays_and_conflicts_each_get_their_own_answer()
    {
        var user = TestUsers.New("group");
        using var http = service.LongClient(TestUsers.New("gc", 16), "admin");
        var usedKey = Guid.NewGuid().ToString();
        var first = await SendAsync(http, TestUsers.Notification("first", user), usedKey).WithTimeout(Budget, "first send");
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var freshKey = Guid.NewGuid().ToString();

        var fresh = Enumerable.Range(0, 20).Select(i => Task.Run(() => SendAsync(http, TestUsers.Notification($"fresh {i}", user), Guid.NewGuid().ToString()))).ToList();
        var replays = Enumerable.Range(0, 15).Select(_ => Task.Run(() => SendAsync(http, TestUsers.Notification("first", user), usedKey))).ToList();
        var conflicts = Enumerable.Range(0, 10).Select(_ => Task.Run(() => SendAsync(http, TestUsers.Notification("changed", user), usedKey))).ToList();
        var sameNewKey = Enumerable.Range(0, 15).Select(_ => Task.Run(() => SendAsync(http, TestUsers.Notification("once", user), freshKey))).ToList();
        await Task.WhenAll(fresh.Concat(replays).Concat(conflicts).Concat(sameNewKey)).WithTimeout(Budget, "60 concurrent sends");

        Assert.All(fresh, t => Assert.Equal(HttpStatusCode.Created, t.Result.Status));
        Assert.Equal(20, fresh.Select(t => t.Result.Result!.Id).Distinct().Count());
        Assert.All(replays, t => Assert.Equal(first.Result, t.Result.Result));
        Assert.All(conflicts, t => Assert.Equal(HttpStatusCode.Conflict, t.Result.Status));
        Assert.All(sameNewKey, t => Assert.Equal(HttpStatusCode.Created, t.Result.Status));
        Assert.Single(sameNewKey.Select(t => t.Result.Result).Distinct());

        var stored = await service.QueryAsync(db => db.Notifications.Where(n => n.Audience.Any(a => a.Value == user)).Select(n => n.Title).ToListAsync())
            .WithTimeout(Budget, "stored titles");
        Assert.Equal(22, stored.Count);
        Assert.Single(stored, "first");
        Assert.Single(stored, "once");
        Assert.DoesNotContain("changed", stored);
    }

    [Fact]
    public async Task Concurrent_late_retries_are_replayed_and_late_sends_with_fresh_keys_store_nothing()
    {
        var user = TestUsers.New("late");
        using var http = service.LongClient(TestUsers.New("gc-late", 16), "admin");
        object Late(string title) => new { type = "test.user", title, expiresAt = service.Clock.GetUtcNow().UtcDateTime.AddSeconds(30), audience = new { users = new[] { user } } };
        var usedKey = Guid.NewGuid().ToString();
        var body = Late("first");
        var first = await SendAsync(http, body, usedKey).WithTimeout(Budget, "first send");
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var expiring = Late("expiring");
        var expiringKey = Guid.NewGuid().ToString();
        service.Clock.Advance(TimeSpan.FromMinutes(1));

        // Late retries race fresh sends, late sends with fresh keys, and late sends sharing a key nobody stored.
        var fresh = Enumerable.Range(0, 10).Select(i => Task.Run(() => SendAsync(http, TestUsers.Notification($"fresh {i}", user), Guid.NewGuid().ToString()))).ToList();
        var replays = Enumerable.Range(0, 10).Select(_ => Task.Run(() => SendAsync(http, body, usedKey))).ToList();
        var lateFresh = Enumerable.Range(0, 10).Select(_ => Task.Run(() => SendAsync(http, expiring, Guid.NewGuid().ToString()))).ToList();
        var lateUnknown = Enumerable.Range(0, 5).Select(_ => Task.Run(() => SendAsync(http, expiring, expiringKey))).ToList();
        await Task.WhenAll(fresh.Concat(replays).Concat(lateFresh).Concat(lateUnknown)).WithTimeout(Budget, "35 concurrent sends");

        Assert.All(fresh, t => Assert.Equal(HttpStatusCode.Created, t.Result.Status));
        Assert.All(replays, t => Assert.Equal(first.Result, t.Result.Result));
        Assert.All(lateFresh.Concat(lateUnknown), t => Assert.Equal(HttpStatusCode.BadRequest, t.Result.Status));
        var stored = await service.QueryAsync(db => db.Notifications.Where(n => n.Audience.Any(a => a.Value == user)).Select(n => n.Title).ToListAsync())
            .WithTimeout(Budget, "stored titles");
        Assert.Equal(11, stored.Count);
        Assert.Single(stored, "first");
        Assert.DoesNotContain("expiring", stored);
    }

    [Fact]
    public async Task Concurrent_sends_are_pushed_in_id_order_and_leave_no_outbox_entry_behind()
    {
        var user = TestUsers.New("drain");
        var role = TestUsers.New("drain-role");
        await using var client = await service.LongConnectAsync(user, role);
        await client.InGroupsAsync();
        using var http = service.LongClient(TestUsers.New("drainer", 16), "admin");

        // Pushed entries are deleted by the next group's transaction, or alone once no send is waiting. To the user and to
        // a role of theirs in turn: the dispatcher starts a batch's pushes without awaiting each, on both paths.
        var sends = Enumerable.Range(0, 60).Select(i => Task.Run(() => http.SendNotificationAsync(i % 2 == 0
            ? TestUsers.Notification($"drain {i}", user)
            : new { type = "test.role", title = $"drain {i}", audience = new { roles = new[] { role } } }))).ToList();
        var ids = (await Task.WhenAll(sends).WithTimeout(Budget, "60 concurrent sends")).Select(r => r.Id).Order().ToList();
        var pushed = await client.ReceiveUntilAsync(ids[^1]).WithTimeout(Budget, "every push");

        Assert.Equal(60, ids.Distinct().Count());
        Assert.Equal(ids[..^1], pushed.Select(n => n.Id));
        await Timeouts.Eventually(async () => await service.QueryAsync(db => db.Outbox.CountAsync()) == 0, "every pushed outbox entry deleted", Budget);
    }
}

public sealed class SqliteGroupCommitTests(SqliteGuaranteesFixture service) : GroupCommitTests(service), IClassFixture<SqliteGuaranteesFixture>;

public sealed class PostgresGroupCommitTests(PostgresGuaranteesFixture service) : GroupCommitTests(service), IClassFixture<PostgresGuaranteesFixture>;

/// <summary>With Redis, every push of a batch is published before the first comes back: their order must hold.</summary>
public sealed class RedisGroupCommitTests(RedisGuaranteesFixture service) : GroupCommitTests(service), IClassFixture<RedisGuaranteesFixture>;
