using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Tests.Delivery;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Inbox;

public sealed class SqliteReadAllFixture : DeliveryFixture
{
    protected override bool OnPostgres => false;
}

public sealed class PostgresReadAllFixture : DeliveryFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>
/// readAt is the first time a notification was read: a read-all covers everything up to the newest id again, and must
/// not move when what an earlier read-all covered was read. Every door that reports readAt is asked (REST inbox,
/// sync and single GET, hub Sync), on SQLite and on PostgreSQL, whose page statement resolves it in SQL. The fixture's
/// clock is moved forward between read-alls; tests in one class run one after another.
/// </summary>
public abstract class ReadAllHistoryTests(DeliveryFixture service)
{
    private static object ToUser(string user, string title) => new { type = "test.readall", title, audience = new { users = new[] { user } } };

    [Fact]
    public async Task A_second_read_all_leaves_what_the_first_covered_read_at_the_first_ones_time()
    {
        var user = TestUsers.New("readall-twice");
        using var http = service.LongClient(user);
        await using var hub = await service.LongConnectAsync(user);
        var monday = (await service.SendAsAdminAsync(ToUser(user, "monday"))).Id;
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "the first read-all")).StatusCode);
        var firstReadAll = (await GetAsync(http, monday)).ReadAt;
        Assert.NotNull(firstReadAll);

        service.Clock.Advance(TimeSpan.FromDays(4));
        var friday = (await service.SendAsAdminAsync(ToUser(user, "friday"))).Id;
        await hub.InvokeAsync("MarkAllRead");
        var secondReadAll = (await GetAsync(http, friday)).ReadAt;
        Assert.NotNull(secondReadAll);
        Assert.True(secondReadAll >= firstReadAll + TimeSpan.FromDays(4), $"{secondReadAll:O} is not 4 days after {firstReadAll:O}");

        // A third read-all reaches no new id: it covers both again and moves neither.
        service.Clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "the third read-all")).StatusCode);

        var expected = new[] { (monday, firstReadAll), (friday, secondReadAll) };
        foreach (var (door, items) in await EveryDoorAsync(user, http, hub, monday, friday))
        {
            Assert.True(
                expected.SequenceEqual(items.Select(n => (n.Id, n.ReadAt))),
                $"{door}: {string.Join(", ", items.Select(n => $"{n.Id} read {n.ReadAt:O}"))}; expected {string.Join(", ", expected.Select(e => $"{e.Item1} read {e.Item2:O}"))}");
            Assert.All(items, n => Assert.Equal(n.ReadAt, n.SeenAt));
        }

        Assert.Equal(0, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);
        Assert.Empty((await http.GetFromJsonAsync<InboxPage>("api/notifications?status=unread").WithTimeout(what: "the unread page"))!.Items);
    }

    [Fact]
    public async Task A_read_receipt_keeps_the_earlier_of_its_own_time_and_the_first_read_all_covering_it()
    {
        var user = TestUsers.New("readall-receipt");
        using var http = service.LongClient(user);
        await using var hub = await service.LongConnectAsync(user);
        var readFirst = (await service.SendAsAdminAsync(ToUser(user, "read before any read-all"))).Id;
        var readBetween = (await service.SendAsAdminAsync(ToUser(user, "read between the read-alls"))).Id;
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{readFirst}/read", null).WithTimeout(what: "a read")).StatusCode);
        var receiptTime = (await GetAsync(http, readFirst)).ReadAt;

        service.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "the first read-all")).StatusCode);
        var firstReadAll = (await GetAsync(http, readBetween)).ReadAt;
        service.Clock.Advance(TimeSpan.FromHours(3));
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{readBetween}/read", null).WithTimeout(what: "a late read")).StatusCode);
        service.Clock.Advance(TimeSpan.FromHours(3));
        var later = (await service.SendAsAdminAsync(ToUser(user, "after the first read-all"))).Id;
        await hub.InvokeAsync("MarkAllRead");
        var secondReadAll = (await GetAsync(http, later)).ReadAt;

        Assert.True(receiptTime < firstReadAll && firstReadAll < secondReadAll, $"{receiptTime:O} < {firstReadAll:O} < {secondReadAll:O}");
        var expected = new[] { (readFirst, receiptTime), (readBetween, firstReadAll), (later, secondReadAll) };
        foreach (var (door, items) in await EveryDoorAsync(user, http, hub, readFirst, readBetween, later))
        {
            Assert.True(
                expected.SequenceEqual(items.Select(n => (n.Id, n.ReadAt))),
                $"{door}: {string.Join(", ", items.Select(n => $"{n.Id} read {n.ReadAt:O}"))}; expected {string.Join(", ", expected.Select(e => $"{e.Item1} read {e.Item2:O}"))}");
        }
    }

    [Fact]
    public async Task Read_alls_racing_sends_and_each_other_add_steps_in_id_and_time_order_that_every_door_dates_by()
    {
        var user = TestUsers.New("readall-race");
        using var http = service.LongClient(user);
        await using var tabA = await service.LongConnectAsync(user);
        await using var tabB = await service.LongConnectAsync(user);
        var logsBefore = service.Logs.Entries.Count;
        var first = (await service.SendAsAdminAsync(ToUser(user, "race 0"))).Id;
        await tabA.InvokeAsync("MarkAllRead");
        service.Clock.Advance(TimeSpan.FromMinutes(1));

        var calls = new List<Task>();
        for (var round = 1; round <= 8; round++)
        {
            calls.Add(service.SendAsAdminAsync(ToUser(user, $"race {round}")));
            calls.Add(tabA.InvokeAsync("MarkAllRead"));
            calls.Add(tabB.InvokeAsync("MarkAllRead"));
            calls.Add(ReadAllOverRestAsync());
            service.Clock.Advance(TimeSpan.FromMinutes(1));
        }

        await Task.WhenAll(calls).WithTimeout(TimeSpan.FromSeconds(60), "sends racing read-alls");

        async Task ReadAllOverRestAsync()
        {
            using var response = await http.PostAsync("api/notifications/read-all", null).WithTimeout(what: "a REST read-all");
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        await tabA.InvokeAsync("MarkAllRead");

        var steps = await service.QueryAsync(db => db.ReadAllSteps.AsNoTracking().Where(s => s.UserId == user).OrderBy(s => s.UpToId).ToListAsync());
        var watermark = await service.QueryAsync(db => db.ReadWatermarks.AsNoTracking().SingleAsync(w => w.UserId == user));
        Assert.True(steps.Count >= 2, $"{steps.Count} steps");
        Assert.All(steps.Zip(steps.Skip(1)), pair => Assert.True(pair.First.ReadAt <= pair.Second.ReadAt, $"step {pair.Second.UpToId} is earlier than step {pair.First.UpToId}"));
        Assert.Equal((watermark.UpToId, watermark.ReadAt), (steps[^1].UpToId, steps[^1].ReadAt));

        var history = new ReadAllHistory(steps.Select(s => new ReadAll(s.UpToId, s.ReadAt)));
        var mine = (await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={first - 1}").WithTimeout(what: "a sync"))!.Items.Select(n => n.Id).ToArray();
        Assert.Equal(9, mine.Length);
        foreach (var (door, items) in await EveryDoorAsync(user, http, tabB, mine))
        {
            Assert.All(items, n => Assert.True(
                history.ReadAtOf(n.Id) == n.ReadAt,
                $"{door}: {n.Id} read {n.ReadAt:O}, its first covering step at {history.ReadAtOf(n.Id):O}"));
        }

        Assert.Equal(0, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);
        var troubles = service.Logs.Entries.Skip(logsBefore).Where(e => e.Exception is not null || e.Level >= LogLevel.Error).ToList();
        Assert.True(troubles.Count == 0, string.Join('\n', troubles.Select(e => $"{e.Level} {e.Category}: {e.Message} {e.Exception}")));
    }

    private static async Task<NotificationDto> GetAsync(HttpClient http, long id) =>
        (await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{id}").WithTimeout(what: $"GET notification {id}"))!;

    /// <summary>
    /// The notifications <paramref name="ids"/> (ascending) as each door reports them, oldest first; also the sync SQL
    /// Server runs, run on this fixture's store (the REST inbox here is the LINQ page SQL Server runs, on SQLite).
    /// </summary>
    private async Task<List<(string Door, List<NotificationDto> Items)>> EveryDoorAsync(string user, HttpClient http, HubClient hub, params long[] ids)
    {
        var after = ids[0] - 1;
        var inbox = (await http.GetFromJsonAsync<InboxPage>($"api/notifications?before={ids[^1] + 1}&limit=100").WithTimeout(what: "the inbox"))!.Items;
        var sync = (await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={after}").WithTimeout(what: "a REST sync"))!.Items;
        var hubSync = (await hub.SyncAsync(after)).Items;
        var single = new List<NotificationDto>();
        foreach (var id in ids)
        {
            single.Add(await GetAsync(http, id));
        }

        var horizonSync = (await service.QueryAsync(db => new InboxQueries(db, service.Clock).SyncUpToHorizonAsync(Viewer.Of(user), after, 1000, CancellationToken.None))).Items;

        List<NotificationDto> Mine(IEnumerable<NotificationDto> items) => [.. items.Where(n => ids.Contains(n.Id)).OrderBy(n => n.Id)];
        return [("REST inbox", Mine(inbox)), ("REST sync", Mine(sync)), ("hub Sync", Mine(hubSync)), ("GET by id", single), ("SQL Server's sync", Mine(horizonSync))];
    }
}

public sealed class SqliteReadAllHistoryTests(SqliteReadAllFixture service) : ReadAllHistoryTests(service), IClassFixture<SqliteReadAllFixture>;

public sealed class PostgresReadAllHistoryTests(PostgresReadAllFixture service) : ReadAllHistoryTests(service), IClassFixture<PostgresReadAllFixture>;
