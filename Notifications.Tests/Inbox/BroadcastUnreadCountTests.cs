using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Inbox;
using Notifications.Api.Retention;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Delivery;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Inbox;

/// <summary>
/// The unread count takes broadcasts from per-block tallies (<see cref="BroadcastBucket"/>), so it must agree with the
/// unread inbox listing wherever the watermark falls, across block boundaries, and after retractions, expiry,
/// receipts and retention deletes. Each provider gets a store of its own: other tests' broadcasts would count too.
/// </summary>
public abstract class BroadcastUnreadCountTests(DeliveryFixture service)
{
    [Fact]
    public async Task Unread_count_agrees_with_the_unread_inbox_across_id_blocks_retraction_expiry_receipts_and_retention()
    {
        // The first broadcast lands six ids before a block boundary, so the sends below straddle it.
        var boundary = ((await service.MaxNotificationIdAsync() / BroadcastBucket.IdsPerBucket) + 2) * BroadcastBucket.IdsPerBucket;
        await service.QueryAsync(db => MoveNextNotificationIdAsync(db, boundary - 6));

        var reader = TestUsers.New("buckets");
        var newcomer = TestUsers.New("buckets-new");
        using var readerHttp = service.LongClient(reader);
        using var newcomerHttp = service.LongClient(newcomer);
        await BroadcastAsync("before the watermark 1");
        await BroadcastAsync("before the watermark 2");
        var direct = (await service.SendAsAdminAsync(TestUsers.Notification("direct", reader))).Id;
        Assert.Equal(HttpStatusCode.NoContent, (await readerHttp.PostAsync("api/notifications/read-all", null)).StatusCode);
        Assert.True(direct < boundary, $"the watermark ({direct}) should fall in the block before {boundary}");

        var unreadAfterWatermark = await BroadcastAsync("after the watermark");
        await BroadcastAsync("also after");
        var expiring = (await service.SendAsAdminAsync(new
        {
            type = "test.bucket",
            title = "expires in an hour",
            expiresAt = service.Clock.GetUtcNow().AddHours(1),
            audience = new { everyone = true },
        })).Id;
        var retracted = await BroadcastAsync("retracted");
        var read = await BroadcastAsync("read by the reader");
        var archived = await BroadcastAsync("archived by the reader");
        var last = await BroadcastAsync("last");
        Assert.True(last >= boundary, $"the sends should cross into the block at {boundary}; the last id was {last}");
        await service.SendAsAdminAsync(TestUsers.Notification("someone else's", TestUsers.New("other")));

        using (var admin = service.LongClient("admin-delivery", "admin"))
        {
            Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{retracted}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await readerHttp.PostAsync($"api/notifications/{read}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await readerHttp.PostAsync($"api/notifications/{archived}/archive", null)).StatusCode);

        // Reader: after the watermark, all but the retracted, read and archived ones. Newcomer: every live broadcast.
        await AssertUnreadAsync(readerHttp, 4);
        await AssertUnreadAsync(newcomerHttp, 8);

        service.Clock.Advance(TimeSpan.FromHours(2));
        await AssertUnreadAsync(readerHttp, 3);
        await AssertUnreadAsync(newcomerHttp, 7);

        // Retention deletes the expired broadcast; its block's tally must lose it in the same step.
        var cleaned = await service.Services.GetRequiredService<RetentionCleaner>().RunOnceAsync(CancellationToken.None).WithTimeout(what: "a retention run");
        Assert.True(cleaned.ExpiredDeleted >= 1, "the expired broadcast should have been deleted");
        Assert.False(await service.QueryAsync(db => db.Notifications.AnyAsync(n => n.Id == expiring)));
        await AssertUnreadAsync(readerHttp, 3);
        await AssertUnreadAsync(newcomerHttp, 7);
        Assert.Contains(unreadAfterWatermark, (await UnreadIdsAsync(readerHttp)));

        await AssertEveryTallyMatchesTheStoreAsync(service);
    }

    /// <summary>Every block's tally is exactly what is stored in it.</summary>
    internal static async Task AssertEveryTallyMatchesTheStoreAsync(DeliveryFixture service)
    {
        var tallies = await service.QueryAsync(db => db.BroadcastBuckets.AsNoTracking().ToDictionaryAsync(b => b.Bucket, b => b.Count));
        var stored = await service.QueryAsync(db => db.Notifications.Where(n => n.Everyone).Select(n => n.Id).ToListAsync());
        var expected = stored.GroupBy(BroadcastBucket.Of).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected, tallies.Where(t => t.Value != 0).ToDictionary());
    }

    private async Task<long> BroadcastAsync(string title) =>
        (await service.SendAsAdminAsync(new { type = "test.bucket", title, audience = new { everyone = true } })).Id;

    private static async Task AssertUnreadAsync(HttpClient http, int expected)
    {
        var count = (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count;
        var listed = await UnreadIdsAsync(http);
        Assert.Equal(listed.Count, count);
        Assert.Equal(expected, count);
    }

    private static async Task<List<long>> UnreadIdsAsync(HttpClient http) =>
        [.. (await http.GetFromJsonAsync<InboxPage>("api/notifications?status=unread&limit=100").WithTimeout(what: "the unread inbox"))!.Items.Select(n => n.Id)];

    /// <summary>Makes the store hand out <paramref name="nextId"/> as the next notification id.</summary>
    internal static Task<int> MoveNextNotificationIdAsync(NotificationsDbContext db, long nextId) => db switch
    {
        PostgresNotificationsDbContext => db.Database.ExecuteSqlAsync(
            $"SELECT setval(pg_get_serial_sequence('\"Notifications\"', 'Id'), {nextId - 1})"),
        SqliteNotificationsDbContext => db.Database.ExecuteSqlAsync(
            $"DELETE FROM sqlite_sequence WHERE name = 'Notifications'; INSERT INTO sqlite_sequence (name, seq) VALUES ('Notifications', {nextId - 1})"),
        _ => throw new NotSupportedException(db.GetType().Name),
    };
}

/// <summary>
/// The store's own contract for a group commit: broadcasts written in one group go to their blocks' tallies once
/// each, also when the group spans two blocks and holds several broadcasts of each (one statement per block).
/// </summary>
public abstract class BroadcastTallyTests(DeliveryFixture service)
{
    [Fact]
    public async Task A_group_of_sends_across_an_id_block_counts_each_broadcast_in_its_own_block()
    {
        var boundary = ((await service.MaxNotificationIdAsync() / BroadcastBucket.IdsPerBucket) + 2) * BroadcastBucket.IdsPerBucket;
        await service.QueryAsync(db => BroadcastUnreadCountTests.MoveNextNotificationIdAsync(db, boundary - 3));

        var ids = await service.QueryAsync(async db =>
        {
            var now = service.Clock.GetUtcNow().UtcDateTime;
            List<Notification> group =
            [
                .. Enumerable.Range(0, 3).Select(i => Broadcast($"before {i}", now)),
                new()
                {
                    Type = "test.tally", Title = "to one user", SenderId = "admin-tally", CreatedAt = now,
                    Audience = [new NotificationAudience { Kind = AudienceKind.User, Value = "tally-user" }],
                },
                .. Enumerable.Range(0, 3).Select(i => Broadcast($"after {i}", now)),
            ];
            await using var transaction = await db.BeginSendTransactionAsync(CancellationToken.None);
            var drawn = await db.BeginSendGroupAsync([], group.Count, CancellationToken.None);
            await db.InsertSendsAsync(group, new OutboxLease(now, now.AddDays(1), "tally-test"), drawn, CancellationToken.None);
            await transaction.CommitAsync();
            return group.Select(n => n.Id).ToList();
        });

        Assert.Equal(2, ids.Where((_, i) => i != 3).Select(BroadcastBucket.Of).Distinct().Count());
        await BroadcastUnreadCountTests.AssertEveryTallyMatchesTheStoreAsync(service);
        var tallies = await service.QueryAsync(db => db.BroadcastBuckets.AsNoTracking().ToDictionaryAsync(b => b.Bucket, b => b.Count));
        Assert.Equal(3, tallies[BroadcastBucket.Of(boundary)]);
    }

    private static Notification Broadcast(string title, DateTime now) =>
        new() { Type = "test.tally", Title = title, SenderId = "admin-tally", CreatedAt = now, Everyone = true };
}

public sealed class SqliteBroadcastTallyTests(SqliteGuaranteesFixture service) : BroadcastTallyTests(service), IClassFixture<SqliteGuaranteesFixture>;

public sealed class PostgresBroadcastTallyTests(PostgresGuaranteesFixture service) : BroadcastTallyTests(service), IClassFixture<PostgresGuaranteesFixture>;

public sealed class SqliteBroadcastUnreadCountTests(SqliteGuaranteesFixture service) : BroadcastUnreadCountTests(service), IClassFixture<SqliteGuaranteesFixture>;

public sealed class PostgresBroadcastUnreadCountTests(PostgresGuaranteesFixture service) : BroadcastUnreadCountTests(service), IClassFixture<PostgresGuaranteesFixture>;
