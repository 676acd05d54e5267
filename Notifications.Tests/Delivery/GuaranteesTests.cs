using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notifications.Api.Admin;
using Notifications.Api.Inbox;
using Notifications.Api.Retention;
using Notifications.Api.Sending;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Idempotent sends, receipts, expiry, retention and retraction, on SQLite and PostgreSQL. Time is driven with the
/// fixture's clock; tests in one class run one after another, and each moves the clock only forward.
/// </summary>
public abstract class GuaranteesTests(GuaranteesFixture service)
{
    private static object ToUser(string title, string user, DateTime? expiresAt = null) =>
        new { type = "test.delivery", title, expiresAt, audience = new { users = new[] { user } } };

    private static HttpRequestMessage SendRequest(object body, string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "api/notifications") { Content = JsonContent.Create(body) };
        request.Headers.Add(SendEndpoints.IdempotencyKeyHeader, idempotencyKey);
        return request;
    }

    private async Task<(HttpStatusCode Status, string Body)> SendWithKeyAsync(HttpClient http, object body, string key)
    {
        using var request = SendRequest(body, key);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static SendResult ResultOf(string body) => JsonSerializer.Deserialize<SendResult>(body, DeliveryFixture.Json)!;

    private RetentionCleaner Cleaner => service.Services.GetRequiredService<RetentionCleaner>();

    [Fact]
    public async Task Fifty_concurrent_sends_with_one_idempotency_key_make_one_notification_and_all_get_its_id()
    {
        var user = TestUsers.New("idem");
        var key = Guid.NewGuid().ToString();
        var title = $"once {key}";
        using var http = service.LongClient("idem-sender", "admin");

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => SendWithKeyAsync(http, ToUser(title, user), key))))
            .WithTimeout(TimeSpan.FromSeconds(60), "50 concurrent sends");

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.Created, r.Status));
        var results = responses.Select(r => ResultOf(r.Body)).Distinct().ToList();
        Assert.Single(results);
        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.CountAsync(n => n.Title == title)));
        using var inbox = service.LongClient(user);
        var page = await inbox.GetFromJsonAsync<InboxPage>("api/notifications");
        Assert.Equal([results[0].Id], page!.Items.Select(n => n.Id));
    }

    [Fact]
    public async Task Same_key_with_a_different_payload_is_a_conflict_and_keys_are_scoped_to_the_sender()
    {
        var user = TestUsers.New("idem");
        var key = Guid.NewGuid().ToString();
        using var http = service.LongClient("idem-sender", "admin");
        var first = await SendWithKeyAsync(http, ToUser("original", user), key);
        Assert.Equal(HttpStatusCode.Created, first.Status);

        using var replay = SendRequest(ToUser("original", user), key);
        using var replayed = await http.SendAsync(replay);
        var changed = await SendWithKeyAsync(http, ToUser("changed", user), key);
        using var otherSender = service.LongClient("other-sender", "admin");
        var other = await SendWithKeyAsync(otherSender, ToUser("original", user), key);

        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        Assert.Equal(ResultOf(first.Body), ResultOf(await replayed.Content.ReadAsStringAsync()));
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(HttpStatusCode.Conflict, changed.Status);
        using var problem = JsonDocument.Parse(changed.Body);
        Assert.Equal(409, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains("Idempotency-Key", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Created, other.Status);
        Assert.NotEqual(ResultOf(first.Body).Id, ResultOf(other.Body).Id);
    }

    [Fact]
    public async Task Idempotency_keys_live_for_the_configured_window_and_the_cleanup_frees_them()
    {
        var user = TestUsers.New("window");
        var key = Guid.NewGuid().ToString();
        using var http = service.LongClient("window-sender", "admin");
        var first = ResultOf((await SendWithKeyAsync(http, ToUser("first", user), key)).Body);

        service.Clock.Advance(TimeSpan.FromHours(GuaranteesFixture.IdempotencyWindowHours) - TimeSpan.FromMinutes(10));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup");
        var withinWindow = await SendWithKeyAsync(http, ToUser("first", user), key);
        Assert.Equal(HttpStatusCode.Created, withinWindow.Status);
        Assert.Equal(first, ResultOf(withinWindow.Body));
        Assert.Equal(key, await service.QueryAsync(db => db.Notifications.Where(n => n.Id == first.Id).Select(n => n.IdempotencyKey).SingleAsync()));

        service.Clock.Advance(TimeSpan.FromMinutes(20));
        var cleaned = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup");
        Assert.True(cleaned.KeysCleared >= 1);
        Assert.Null(await service.QueryAsync(db => db.Notifications.Where(n => n.Id == first.Id).Select(n => n.IdempotencyKey).SingleAsync()));

        var afterWindow = await SendWithKeyAsync(http, ToUser("a new send under an old key", user), key);
        Assert.Equal(HttpStatusCode.Created, afterWindow.Status);
        Assert.NotEqual(first.Id, ResultOf(afterWindow.Body).Id);
    }

    [Fact]
    public async Task A_retry_after_its_expiresAt_has_passed_is_replayed_but_stores_nothing_new()
    {
        var user = TestUsers.New("late-retry");
        var key = Guid.NewGuid().ToString();
        var body = ToUser("retried late", user, service.Clock.GetUtcNow().UtcDateTime.AddMinutes(1));
        using var http = service.LongClient("late-retry-sender", "admin");
        var first = await SendWithKeyAsync(http, body, key).WithTimeout(what: "the first send");
        Assert.Equal(HttpStatusCode.Created, first.Status);
        var firstId = ResultOf(first.Body).Id;

        // As a client whose send got 503 would: the same body and key, once expiresAt lies in the past.
        service.Clock.Advance(TimeSpan.FromMinutes(2));
        using var retry = SendRequest(body, key);
        using var replayed = await http.SendAsync(retry).WithTimeout(what: "the late replay");
        var replayedBody = await replayed.Content.ReadAsStringAsync().WithTimeout(what: "the late replay's body");
        var freshKey = await SendWithKeyAsync(http, body, Guid.NewGuid().ToString()).WithTimeout(what: "a late send with a fresh key");
        var otherPayload = await SendWithKeyAsync(http, ToUser("changed", user, service.Clock.GetUtcNow().UtcDateTime.AddMinutes(-1)), key)
            .WithTimeout(what: "a late send with the key and another payload");
        using var noKey = await http.PostAsJsonAsync("api/notifications", body).WithTimeout(what: "a late send without a key");

        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(ResultOf(first.Body), ResultOf(replayedBody));
        // Not a replay, so the request is judged alone, as before: its expiresAt has passed.
        foreach (var (status, problemBody) in new[] { freshKey, otherPayload, (noKey.StatusCode, await noKey.Content.ReadAsStringAsync().WithTimeout()) })
        {
            Assert.Equal(HttpStatusCode.BadRequest, status);
            using var problem = JsonDocument.Parse(problemBody);
            Assert.Equal(["expiresAt"], problem.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name));
        }

        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.CountAsync(n => n.Audience.Any(a => a.Value == user))));

        // Past the window the key replays nothing, and the rejected retry does not free it either.
        service.Clock.Advance(TimeSpan.FromHours(GuaranteesFixture.IdempotencyWindowHours));
        var afterWindow = await SendWithKeyAsync(http, body, key).WithTimeout(what: "a late retry after the window");
        Assert.Equal(HttpStatusCode.BadRequest, afterWindow.Status);
        Assert.Equal(key, await service.QueryAsync(db => db.Notifications.Where(n => n.Id == firstId).Select(n => n.IdempotencyKey).SingleAsync()));
        Assert.Equal(1, await service.QueryAsync(db => db.Notifications.CountAsync(n => n.Audience.Any(a => a.Value == user))));
    }

    [Fact]
    public async Task An_expired_notification_leaves_inbox_sync_and_counts_when_its_time_passes()
    {
        var user = TestUsers.New("expiry");
        var expiring = await service.SendAsAdminAsync(ToUser("expires in 30 minutes", user, service.Clock.GetUtcNow().UtcDateTime.AddMinutes(30)));
        var lasting = await service.SendAsAdminAsync(ToUser("lasts", user));
        using var http = service.LongClient(user);
        await using var hub = await service.LongConnectAsync(user);

        Assert.Equal([lasting.Id, expiring.Id], (await http.GetFromJsonAsync<InboxPage>("api/notifications"))!.Items.Select(n => n.Id));
        Assert.Equal(2, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        Assert.Equal(2, await hub.InvokeAsync<int>("GetUnreadCount"));

        service.Clock.Advance(TimeSpan.FromMinutes(31));

        Assert.Equal([lasting.Id], (await http.GetFromJsonAsync<InboxPage>("api/notifications?status=all&includeArchived=true"))!.Items.Select(n => n.Id));
        Assert.Equal([lasting.Id], (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0"))!.Items.Select(n => n.Id));
        Assert.Equal([lasting.Id], (await hub.SyncAsync(0)).Items.Select(n => n.Id));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/notifications/{expiring.Id}")).StatusCode);
        Assert.Equal(1, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        Assert.Equal(1, await hub.InvokeAsync<int>("GetUnreadCount"));
    }

    [Fact]
    public async Task Cleanup_deletes_expired_and_aged_notifications_with_their_rows_in_bounded_batches()
    {
        var user = TestUsers.New("retention");
        using var http = service.LongClient(user);
        var aged = new List<long>();
        for (var i = 0; i < 23; i++)
        {
            aged.Add((await service.SendAsAdminAsync(ToUser($"old {i}", user))).Id);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("api/notifications/read", new { ids = aged })).StatusCode);
        service.Clock.Advance(TimeSpan.FromDays(90) + TimeSpan.FromHours(1));

        var now = service.Clock.GetUtcNow().UtcDateTime;
        var expired = new List<long>();
        for (var i = 0; i < 12; i++)
        {
            expired.Add((await service.SendAsAdminAsync(ToUser($"expiring {i}", user, now.AddMinutes(30)))).Id);
        }

        using var keyed = SendRequest(ToUser("expiring, key still replayable", user, now.AddMinutes(30)), Guid.NewGuid().ToString());
        using var admin = service.LongClient("admin-delivery", "admin");
        using var keyedResponse = await admin.SendAsync(keyed);
        var expiredWithKey = ResultOf(await keyedResponse.Content.ReadAsStringAsync()).Id;
        var kept = (await service.SendAsAdminAsync(ToUser("recent", user))).Id;
        service.Clock.Advance(TimeSpan.FromHours(1));

        var result = await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(TimeSpan.FromSeconds(60), "the cleanup");

        Assert.True(result.AgedDeleted >= aged.Count, $"aged deleted: {result.AgedDeleted}");
        Assert.True(result.ExpiredDeleted >= expired.Count, $"expired deleted: {result.ExpiredDeleted}");
        Assert.InRange(result.LargestStatement, 1, GuaranteesFixture.RetentionBatchSize);
        long[] gone = [.. aged, .. expired];
        Assert.False(await service.QueryAsync(db => db.Notifications.AnyAsync(n => gone.Contains(n.Id))));
        Assert.False(await service.QueryAsync(db => db.Receipts.AnyAsync(r => gone.Contains(r.NotificationId))));
        Assert.False(await service.QueryAsync(db => db.NotificationAudience.AnyAsync(a => gone.Contains(a.NotificationId))));
        Assert.True(await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == kept)));

        // The expired one whose key may still be replayed stays until the window has passed, then goes too.
        Assert.True(await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == expiredWithKey)));
        service.Clock.Advance(TimeSpan.FromHours(GuaranteesFixture.IdempotencyWindowHours));
        await Cleaner.RunOnceAsync(CancellationToken.None).WithTimeout(what: "the cleanup");
        Assert.False(await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == expiredWithKey)));
        Assert.Equal([kept], (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0"))!.Items.Select(n => n.Id));
    }

    [Fact]
    public async Task Parallel_acks_reads_and_seens_from_two_connections_leave_one_receipt_and_one_unread_count()
    {
        var user = TestUsers.New("tabs");
        var target = (await service.SendAsAdminAsync(ToUser("read me everywhere", user))).Id;
        await service.SendAsAdminAsync(ToUser("stays unread", user));
        await using var tabA = await service.LongConnectAsync(user);
        await using var tabB = await service.LongConnectAsync(user);
        using var http = service.LongClient(user);
        var logsBefore = service.Logs.Entries.Count;

        // Both lists are started before either is awaited, so hub and REST calls overlap.
        var hubCalls = Enumerable.Range(0, 20).SelectMany(i =>
        {
            var tab = i % 2 == 0 ? tabA : tabB;
            return new[] { tab.InvokeAsync("Ack", new[] { target }), tab.InvokeAsync("MarkRead", new[] { target }), tab.InvokeAsync("MarkSeen", new[] { target }) };
        }).ToList();
        var restCalls = Enumerable.Range(0, 20).SelectMany(_ => new[]
        {
            PostStatusAsync(http, $"api/notifications/{target}/read"),
            PostStatusAsync(http, $"api/notifications/{target}/seen"),
        }).ToList();
        var statuses = await Task.WhenAll(restCalls).WithTimeout(TimeSpan.FromSeconds(60), "parallel REST reads");
        await Task.WhenAll(hubCalls).WithTimeout(TimeSpan.FromSeconds(60), "parallel hub acks and reads");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NoContent, s));
        var receipts = await service.QueryAsync(db => db.Receipts.Where(r => r.UserId == user).ToListAsync());
        var receipt = Assert.Single(receipts);
        Assert.Equal(target, receipt.NotificationId);
        Assert.NotNull(receipt.DeliveredAt);
        Assert.NotNull(receipt.SeenAt);
        Assert.NotNull(receipt.ReadAt);

        // Every read (20 over the hub, 20 over REST) pushed the count to both tabs, and every push says 1.
        foreach (var tab in new[] { tabA, tabB })
        {
            for (var i = 0; i < 40; i++)
            {
                Assert.Equal(1, await tab.NextUnreadCountAsync());
            }

            Assert.Equal(1, await tab.InvokeAsync<int>("GetUnreadCount"));
        }

        Assert.Equal(1, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        // Warnings without an exception are allowed: a loaded machine makes Kestrel warn about its heartbeat.
        var troubles = service.Logs.Entries.Skip(logsBefore).Where(e => e.Exception is not null || e.Level >= LogLevel.Error).ToList();
        Assert.True(troubles.Count == 0, string.Join('\n', troubles.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    [Fact]
    public async Task Parallel_read_alls_from_several_tabs_leave_one_watermark_and_one_step_and_log_nothing()
    {
        var user = TestUsers.New("readall");
        var newest = 0L;
        for (var i = 0; i < 3; i++)
        {
            newest = (await service.SendAsAdminAsync(ToUser($"unread {i}", user))).Id;
        }

        await using var tabA = await service.LongConnectAsync(user);
        await using var tabB = await service.LongConnectAsync(user);
        using var http = service.LongClient(user);
        var logsBefore = service.Logs.Entries.Count;

        var hubCalls = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? tabA : tabB).InvokeAsync("MarkAllRead")).ToList();
        var restCalls = Enumerable.Range(0, 20).Select(_ => PostStatusAsync(http, "api/notifications/read-all")).ToList();
        var statuses = await Task.WhenAll(restCalls).WithTimeout(TimeSpan.FromSeconds(60), "parallel REST read-alls");
        await Task.WhenAll(hubCalls).WithTimeout(TimeSpan.FromSeconds(60), "parallel hub read-alls");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.NoContent, s));
        var watermark = Assert.Single(await service.QueryAsync(db => db.ReadWatermarks.Where(w => w.UserId == user).ToListAsync()));
        Assert.True(watermark.UpToId >= newest);

        // Only the read-all that moved the watermark added a step; the others reached no new id.
        var step = Assert.Single(await service.QueryAsync(db => db.ReadAllSteps.Where(s => s.UserId == user).ToListAsync()));
        Assert.Equal((watermark.UpToId, watermark.ReadAt), (step.UpToId, step.ReadAt));
        Assert.Equal(0, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        Assert.Equal(0, await tabA.InvokeAsync<int>("GetUnreadCount"));
        var troubles = service.Logs.Entries.Skip(logsBefore).Where(e => e.Exception is not null || e.Level >= LogLevel.Error).ToList();
        Assert.True(troubles.Count == 0, string.Join('\n', troubles.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    [Fact]
    public async Task Admin_list_reports_delivered_seen_and_read_per_notification()
    {
        string[] users = [TestUsers.New("acked"), TestUsers.New("seen"), TestUsers.New("read"), TestUsers.New("idle")];
        var id = (await service.SendAsAdminAsync(new { type = "test.funnel", title = "funnel", audience = new { users } })).Id;
        await using var acked = await service.LongConnectAsync(users[0]);
        await acked.InvokeAsync("Ack", new[] { id });
        await using var seen = await service.LongConnectAsync(users[1]);
        await seen.InvokeAsync("Ack", new[] { id });
        await seen.InvokeAsync("MarkSeen", new[] { id });
        using var reader = service.LongClient(users[2]);
        Assert.Equal(HttpStatusCode.NoContent, (await reader.PostAsync($"api/notifications/{id}/read", null)).StatusCode);

        using var admin = service.LongClient("admin-delivery", "admin");
        var page = await admin.GetFromJsonAsync<SentPage>($"api/admin/notifications?before={id + 1}&limit=1");

        var item = Assert.Single(page!.Items);
        Assert.Equal(id, item.Id);
        Assert.Equal(new FunnelStats(Delivered: 3, Seen: 2, Read: 1), item.Stats);
    }

    [Fact]
    public async Task Retraction_leaves_every_inbox_and_count_of_a_group_and_role_audience()
    {
        var group = $"crew-{Guid.NewGuid():N}"[..16];
        var role = $"role-{Guid.NewGuid():N}"[..14];
        var (memberOnline, memberOffline, roleHolder) = (TestUsers.New("member"), TestUsers.New("offline"), TestUsers.New("holder"));
        using var admin = service.LongClient("admin-delivery", "admin");
        await admin.CreateGroupAsync(group, "restricted");
        foreach (var member in new[] { memberOnline, memberOffline })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{member}", null)).StatusCode);
        }

        service.Clock.Advance(TimeSpan.FromSeconds(1));
        await using var memberHub = await service.LongConnectAsync(memberOnline);
        await using var roleHub = await service.LongConnectAsync(roleHolder, role);
        await memberHub.InGroupsAsync();
        await roleHub.InGroupsAsync();
        var kept = (await service.SendAsAdminAsync(new { type = "test.retract", title = "kept", audience = new { groups = new[] { group }, roles = new[] { role } } })).Id;
        var id = (await service.SendAsAdminAsync(new { type = "test.retract", title = "wrong", audience = new { groups = new[] { group }, roles = new[] { role } } })).Id;
        await memberHub.ReceiveUntilAsync(id);
        await roleHub.ReceiveUntilAsync(id);
        (string User, string[] Roles)[] audience = [(memberOnline, []), (memberOffline, []), (roleHolder, [role])];
        foreach (var (user, roles) in audience)
        {
            using var http = service.LongClient(user, roles);
            Assert.Equal(2, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{id}")).StatusCode);

        Assert.Equal(id, await memberHub.NextRetractionAsync());
        Assert.Equal(id, await roleHub.NextRetractionAsync());
        foreach (var (user, roles) in audience)
        {
            using var http = service.LongClient(user, roles);
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/notifications/{id}")).StatusCode);
            Assert.Equal([kept], (await http.GetFromJsonAsync<InboxPage>("api/notifications?status=all&includeArchived=true"))!.Items.Select(n => n.Id));
            Assert.Equal([kept], (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0"))!.Items.Select(n => n.Id));
            Assert.Equal(1, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        }

        Assert.Equal(1, await roleHub.InvokeAsync<int>("GetUnreadCount"));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"api/notifications/{id}")).StatusCode);
    }

    private static async Task<HttpStatusCode> PostStatusAsync(HttpClient http, string path)
    {
        using var response = await http.PostAsync(path, null);
        return response.StatusCode;
    }
}

public sealed class SqliteGuaranteesTests(SqliteGuaranteesFixture service) : GuaranteesTests(service), IClassFixture<SqliteGuaranteesFixture>;

public sealed class PostgresGuaranteesTests(PostgresGuaranteesFixture service) : GuaranteesTests(service), IClassFixture<PostgresGuaranteesFixture>;
