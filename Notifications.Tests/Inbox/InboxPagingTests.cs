using System.Net;
using System.Net.Http.Json;
using Notifications.Api.Inbox;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Inbox;

/// <summary>
/// Inbox and sync pages are merged from one index range per audience part (everyone, the user, each role, each
/// group since joining). Small pages make every part run out at a different point: each visible notification must
/// come exactly once, in id order, and nothing else.
/// </summary>
public abstract class InboxPagingTests(ServiceFixture service)
{
    [Fact]
    public async Task Pages_merge_every_audience_part_once_each_in_id_order()
    {
        var user = TestUsers.New("paged");
        var role = $"desk-{Guid.NewGuid():N}"[..16];
        var (early, late) = ($"early-{Guid.NewGuid():N}"[..16], $"late-{Guid.NewGuid():N}"[..16]);
        using var admin = service.Client("admin-1", "admin");
        using var http = service.Client(user, role);
        foreach (var group in new[] { early, late })
        {
            Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("api/groups", new { name = group, kind = "restricted" })).StatusCode);
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{early}/members/{user}", null)).StatusCode);
        var visible = new List<long>();
        async Task SendAsync(object audience, bool seen)
        {
            var id = await service.SendAsync("admin-1", new { type = "test.paging", title = "paged", audience });
            if (seen)
            {
                visible.Add(id);
            }
        }

        await SendAsync(new { users = new[] { user } }, seen: true);
        await SendAsync(new { groups = new[] { late } }, seen: false); // before joining
        await SendAsync(new { roles = new[] { role } }, seen: true);
        await SendAsync(new { everyone = true }, seen: true);
        await SendAsync(new { users = new[] { TestUsers.New("other") } }, seen: false);
        await SendAsync(new { users = new[] { user }, roles = new[] { role }, groups = new[] { early } }, seen: true);
        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{late}/members/{user}", null)).StatusCode);
        await SendAsync(new { groups = new[] { late } }, seen: true);
        await SendAsync(new { roles = new[] { "someone-elses-role" } }, seen: false);
        await SendAsync(new { everyone = true, groups = new[] { early, late } }, seen: true);
        await SendAsync(new { groups = new[] { early } }, seen: true);
        await SendAsync(new { roles = new[] { role } }, seen: true);
        await SendAsync(new { users = new[] { user } }, seen: true);
        await SendAsync(new { everyone = true }, seen: true);

        foreach (var limit in new[] { 1, 2, 3, 100 })
        {
            Assert.Equal(visible.OrderDescending(), await InboxIdsAsync(http, limit, ""));
            Assert.Equal(visible, await SyncIdsAsync(http, limit));
        }

        // Unread and archived filters apply inside every part, so pages stay full and complete.
        var read = new[] { visible[1], visible[5], visible[8] };
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("api/notifications/read", new { ids = read })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{visible[3]}/archive", null)).StatusCode);
        foreach (var limit in new[] { 1, 2, 100 })
        {
            Assert.Equal(visible.Except(read).Except([visible[3]]).OrderDescending(), await InboxIdsAsync(http, limit, "&status=unread"));
            Assert.Equal(visible.Except([visible[3]]).OrderDescending(), await InboxIdsAsync(http, limit, ""));
            Assert.Equal(visible.OrderDescending(), await InboxIdsAsync(http, limit, "&includeArchived=true"));
        }
    }

    [Fact]
    public async Task Read_state_unread_pages_and_the_unread_count_agree_across_roles_groups_and_read_all()
    {
        var user = TestUsers.New("state");
        var (roleA, roleB) = ($"ra-{Guid.NewGuid():N}"[..16], $"rb-{Guid.NewGuid():N}"[..16]);
        var group = $"st-{Guid.NewGuid():N}"[..16];
        using var admin = service.Client("admin-1", "admin");
        using var http = service.Client(user, roleA, roleB);
        using var roleless = service.Client(user);
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("api/groups", new { name = group, kind = "restricted" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{user}", null)).StatusCode);
        var mine = new List<long>();
        async Task<long> SendAsync(object audience)
        {
            var id = await service.SendAsync("admin-1", new { type = "test.state", title = "state", audience });
            mine.Add(id);
            return id;
        }

        await SendAsync(new { roles = new[] { roleA } });
        await SendAsync(new { groups = new[] { group } });
        var direct = await SendAsync(new { users = new[] { user } });
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null)).StatusCode);
        var a = await SendAsync(new { roles = new[] { roleB } });
        var b = await SendAsync(new { groups = new[] { group } });
        var c = await SendAsync(new { users = new[] { user } });
        var d = await SendAsync(new { roles = new[] { roleA, roleB } });
        var e = await SendAsync(new { users = new[] { user }, groups = new[] { group } });
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("api/notifications/read", new { ids = new[] { b } })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{c}/seen", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{d}/archive", null)).StatusCode);

        var all = (await http.GetFromJsonAsync<SyncPage>("api/notifications/sync?after=0&limit=500").WithTimeout(what: "a sync page"))!.Items;
        Assert.Equal(mine, all.Where(n => n.Id >= mine[0]).Select(n => n.Id));
        var byId = all.ToDictionary(n => n.Id);

        // Read-all marks everything up to it read (and so seen) at the read-all's time, whatever its audience part.
        var readAll = byId[mine[0]].ReadAt;
        Assert.NotNull(readAll);
        Assert.All(all.Where(n => n.Id <= direct), n => Assert.Equal((readAll, readAll, (DateTime?)null), (n.ReadAt, n.SeenAt, n.ArchivedAt)));
        Assert.Equal((null, null, null), (byId[a].ReadAt, byId[a].SeenAt, byId[a].ArchivedAt));
        Assert.NotNull(byId[b].ReadAt);
        Assert.Equal(byId[b].ReadAt, byId[b].SeenAt);
        Assert.Equal((null, (DateTime?)null), (byId[c].ReadAt, byId[c].ArchivedAt));
        Assert.NotNull(byId[c].SeenAt);
        Assert.NotNull(byId[d].ArchivedAt);
        Assert.Null(byId[d].ReadAt);

        foreach (var limit in new[] { 1, 2, 100 })
        {
            Assert.Equal(new[] { e, c, a }, await InboxIdsAsync(http, limit, "&status=unread"));
            Assert.Equal(new[] { e, d, c, a }, await InboxIdsAsync(http, limit, "&status=unread&includeArchived=true"));
        }

        Assert.Equal(3, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);

        // The same user with a token without roles: their own and their group's, nothing sent only to a role.
        Assert.Equal(new[] { e, c }, await InboxIdsAsync(roleless, 2, "&status=unread"));
        Assert.Equal(2, (await roleless.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);
        Assert.Equal(new[] { e, c, b, direct, mine[1] }, (await InboxIdsAsync(roleless, 100, "")).Where(id => id >= mine[0]));
    }

    private static async Task<List<long>> InboxIdsAsync(HttpClient http, int limit, string filters)
    {
        var ids = new List<long>();
        long? before = null;
        for (var pages = 0; pages < 100; pages++)
        {
            var query = $"api/notifications?limit={limit}{filters}" + (before is { } b ? $"&before={b}" : "");
            var page = (await http.GetFromJsonAsync<InboxPage>(query).WithTimeout(what: "an inbox page"))!;
            Assert.True(page.Items.Count <= limit);
            ids.AddRange(page.Items.Select(n => n.Id));
            if (!page.HasMore)
            {
                Assert.Null(page.NextBefore);
                return ids;
            }

            Assert.Equal(limit, page.Items.Count);
            before = page.NextBefore;
        }

        throw new InvalidOperationException("The inbox never reported its last page.");
    }

    private static async Task<List<long>> SyncIdsAsync(HttpClient http, int limit)
    {
        var ids = new List<long>();
        long after = 0;
        for (var pages = 0; pages < 100; pages++)
        {
            var page = (await http.GetFromJsonAsync<SyncPage>($"api/notifications/sync?after={after}&limit={limit}").WithTimeout(what: "a sync page"))!;
            ids.AddRange(page.Items.Select(n => n.Id));
            if (!page.HasMore)
            {
                return ids;
            }

            Assert.Equal(limit, page.Items.Count);
            after = page.Cursor;
        }

        throw new InvalidOperationException("Sync never reported its last page.");
    }
}

public sealed class SqliteInboxPagingTests(SqliteServiceFixture service) : InboxPagingTests(service), IClassFixture<SqliteServiceFixture>;

public sealed class PostgresInboxPagingTests(PostgresServiceFixture service) : InboxPagingTests(service), IClassFixture<PostgresServiceFixture>;
