using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Groups;
using Notifications.Api.Inbox;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Integration;

/// <summary>
/// The core contract over real Kestrel and real SignalR clients. The same cases run on SQLite and on PostgreSQL.
/// Users are unique per test so tests in one fixture do not see each other's notifications.
/// </summary>
public abstract class CoreBehaviourTests(ServiceFixture service)
{
    protected ServiceFixture Service => service;

    [Fact]
    public async Task User_send_reaches_only_that_user()
    {
        var (alice, bob) = (TestUsers.New("alice"), TestUsers.New("bob"));
        await using var aliceHub = await service.ConnectAsync(alice);
        await using var bobHub = await service.ConnectAsync(bob);

        var forBob = await service.SendAsync("sender", TestUsers.Notification("for bob", bob));
        var sentinel = await service.SendAsync("sender", TestUsers.Notification("sentinel", alice));

        Assert.Equal(forBob, (await bobHub.NextNotificationAsync()).Id);
        Assert.Empty(await aliceHub.ReceiveUntilAsync(sentinel));
        Assert.False(bobHub.HasPendingNotification);
    }

    [Fact]
    public async Task Role_send_reaches_holders_of_the_role_only()
    {
        var role = $"ops{Guid.NewGuid():N}"[..10];
        var (oncall, other) = (TestUsers.New("oncall"), TestUsers.New("other"));
        await using var oncallHub = await service.ConnectAsync(oncall, role);
        await using var otherHub = await service.ConnectAsync(other, "viewer");
        await oncallHub.InGroupsAsync();

        var id = await service.SendAsync("admin-1", new { type = "ops.alert", title = "disk full", audience = new { roles = new[] { role } } });
        var sentinel = await service.SendAsync("admin-1", TestUsers.Notification("sentinel", other));

        var received = await oncallHub.NextNotificationAsync();
        Assert.Equal(id, received.Id);
        Assert.Equal("disk full", received.Title);
        Assert.Empty(await otherHub.ReceiveUntilAsync(sentinel));

        using var oncallHttp = service.Client(oncall, role);
        Assert.Equal(HttpStatusCode.OK, (await oncallHttp.GetAsync($"api/notifications/{id}")).StatusCode);
        using var withoutRole = service.Client(oncall);
        Assert.Equal(HttpStatusCode.NotFound, (await withoutRole.GetAsync($"api/notifications/{id}")).StatusCode);
    }

    [Fact]
    public async Task Group_send_reaches_members_who_joined_before_and_not_those_who_joined_after()
    {
        var group = $"team-{Guid.NewGuid():N}"[..16];
        var (early, late) = (TestUsers.New("early"), TestUsers.New("late"));
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(group, "restricted");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{early}", null)).StatusCode);
        await using var earlyHub = await service.ConnectAsync(early);
        await using var lateHub = await service.ConnectAsync(late);
        await earlyHub.InGroupsAsync();
        await lateHub.InGroupsAsync();

        var id = await service.SendAsync("admin-1", new { type = "team.news", title = "standup", audience = new { groups = new[] { group } } });
        Assert.Equal(id, (await earlyHub.NextNotificationAsync()).Id);

        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{late}", null)).StatusCode);
        var later = await service.SendAsync("admin-1", new { type = "team.news", title = "retro", audience = new { groups = new[] { group } } });

        Assert.Empty(await lateHub.ReceiveUntilAsync(later));
        using var lateHttp = service.Client(late);
        Assert.Equal(HttpStatusCode.NotFound, (await lateHttp.GetAsync($"api/notifications/{id}")).StatusCode);
        var inbox = await lateHttp.GetFromJsonAsync<InboxPage>("api/notifications?status=all");
        Assert.Equal([later], inbox!.Items.Where(n => !IsBroadcast(n)).Select(n => n.Id));
    }

    [Fact]
    public async Task A_membership_change_applied_late_moves_connections_to_the_stored_state_not_the_announced_one()
    {
        // A join announced after the leave that followed it (two instances publishing, or a publish retried once Redis
        // answers) must not put a removed member back in the group.
        var group = $"late-{Guid.NewGuid():N}"[..16];
        var member = TestUsers.New("removed");
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(group, "restricted");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{member}", null)).StatusCode);
        await using var hub = await service.ConnectAsync(member);
        await hub.InGroupsAsync();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/groups/{group}/members/{member}")).StatusCode);

        var bus = service.Services.GetRequiredService<IClusterBus>();
        await bus.PublishAsync(new MembershipChanged(member, group, Joined: true), CancellationToken.None).WithTimeout(what: "the late join to be applied");

        var toGroup = await service.SendAsync("admin-1", new { type = "team.news", title = "after the removal", audience = new { groups = new[] { group } } });
        var marker = await service.SendAsync("admin-1", TestUsers.Notification("marker", member));
        Assert.DoesNotContain(await hub.ReceiveUntilAsync(marker), n => n.Id == toGroup);
    }

    [Fact]
    public async Task Broadcast_reaches_every_connected_user()
    {
        var users = Enumerable.Range(0, 3).Select(i => TestUsers.New($"u{i}")).ToArray();
        var hubs = await Task.WhenAll(users.Select(u => service.ConnectAsync(u)));
        try
        {
            var id = await service.SendAsync("admin-1", new { type = "system.maintenance", title = "tonight", audience = new { everyone = true } });
            foreach (var hub in hubs)
            {
                var received = await hub.ReceiveUntilAsync(id);
                Assert.DoesNotContain(received, n => n.Id == id);
            }
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Broadcast_reaches_every_connection_of_a_crowd_in_send_order()
    {
        // A crowd, some users with two tabs: each connection gets each broadcast once, in send order.
        var users = Enumerable.Range(0, 120).Select(i => TestUsers.New($"crowd{i}")).ToArray();
        var hubs = new List<HubClient>();
        try
        {
            foreach (var chunk in users.Concat(users.Take(40)).Chunk(20))
            {
                hubs.AddRange(await Task.WhenAll(chunk.Select(u => service.ConnectAsync(u))));
            }

            var first = await service.SendAsync("admin-1", new { type = "system.crowd", title = "first", audience = new { everyone = true } });
            var second = await service.SendAsync("admin-1", new { type = "system.crowd", title = "second", audience = new { everyone = true } });
            foreach (var hub in hubs)
            {
                var received = (await hub.ReceiveUntilAsync(second)).Select(n => n.Id).ToList();
                Assert.Single(received, id => id == first);
            }
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Publisher_may_send_to_users_but_not_to_everyone_or_roles()
    {
        using var publisher = service.Client("billing", "publisher");
        var toEveryone = await publisher.PostAsJsonAsync("api/notifications", new { type = "x", title = "t", audience = new { everyone = true } });
        var toRole = await publisher.PostAsJsonAsync("api/notifications", new { type = "x", title = "t", audience = new { roles = new[] { "admin" } } });
        var toUser = await publisher.PostAsJsonAsync("api/notifications", TestUsers.Notification("invoice", TestUsers.New("c")));
        using var nobody = service.Client("random-user");
        var fromNobody = await nobody.PostAsJsonAsync("api/notifications", TestUsers.Notification("hi", "someone"));

        Assert.Equal(HttpStatusCode.Forbidden, toEveryone.StatusCode);
        Assert.Equal("application/problem+json", toEveryone.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, toRole.StatusCode);
        Assert.Equal(HttpStatusCode.Created, toUser.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, fromNobody.StatusCode);
    }

    [Fact]
    public async Task Read_on_one_tab_updates_the_count_on_another()
    {
        var user = TestUsers.New("reader");
        await using var tabA = await service.ConnectAsync(user);
        await using var tabB = await service.ConnectAsync(user);
        var first = await service.SendAsync("sender", TestUsers.Notification("one", user));
        var second = await service.SendAsync("sender", TestUsers.Notification("two", user));
        await tabA.ReceiveUntilAsync(second);
        var before = await tabB.InvokeAsync<int>("GetUnreadCount");

        await tabA.InvokeAsync("MarkRead", new long[] { first });

        Assert.Equal([first], await tabB.NextReadAsync());
        Assert.Equal(before - 1, await tabB.NextUnreadCountAsync());
        Assert.Equal(before - 1, await tabA.NextUnreadCountAsync());

        await tabB.InvokeAsync("MarkAllRead");
        Assert.True((await tabA.NextAllReadAsync()).UpToId >= second);
        Assert.Equal(0, await tabA.NextUnreadCountAsync());
        using var http = service.Client(user);
        Assert.Equal(0, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
    }

    [Fact]
    public async Task Each_connection_gets_the_unread_count_its_own_roles_see()
    {
        // One user, two tabs: an old token without the role, a new one that gained it.
        var role = $"ops{Guid.NewGuid():N}"[..10];
        var user = TestUsers.New("two-tokens");
        await using var plainTab = await service.ConnectAsync(user);
        await using var opsTab = await service.ConnectAsync(user, role);
        await using var secondOpsTab = await service.ConnectAsync(user, "zz-other", role);
        await opsTab.InGroupsAsync();
        var forUser = await service.SendAsync("admin-1", TestUsers.Notification("one", user));
        await service.SendAsync("admin-1", new { type = "ops.alert", title = "for the role", audience = new { roles = new[] { role } } });
        var last = await service.SendAsync("admin-1", TestUsers.Notification("two", user));
        await opsTab.ReceiveUntilAsync(last);
        await plainTab.ReceiveUntilAsync(last);
        var plainBefore = await plainTab.InvokeAsync<int>("GetUnreadCount");
        Assert.Equal(plainBefore + 1, await opsTab.InvokeAsync<int>("GetUnreadCount"));

        // Hub path, from the tab that cannot see the role's notification.
        await plainTab.InvokeAsync("MarkRead", new long[] { forUser });
        Assert.Equal(plainBefore - 1, await plainTab.NextUnreadCountAsync());
        Assert.Equal(plainBefore, await opsTab.NextUnreadCountAsync());
        Assert.Equal(plainBefore, await secondOpsTab.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 1, await plainTab.InvokeAsync<int>("GetUnreadCount"));
        Assert.Equal(plainBefore, await opsTab.InvokeAsync<int>("GetUnreadCount"));

        // REST path, archive with the old token: the tabs holding the role still count the role's notification.
        using var plainHttp = service.Client(user);
        Assert.Equal(HttpStatusCode.NoContent, (await plainHttp.PostAsync($"api/notifications/{last}/archive", null)).StatusCode);
        Assert.Equal(plainBefore - 2, await plainTab.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 1, await opsTab.NextUnreadCountAsync());
        Assert.Equal(plainBefore - 2, (await plainHttp.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);
        using var opsHttp = service.Client(user, role);
        Assert.Equal(plainBefore - 1, (await opsHttp.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);

        // Read-all from the new token: nothing is left for anyone.
        await opsTab.InvokeAsync("MarkAllRead");
        Assert.Equal(0, await plainTab.NextUnreadCountAsync());
        Assert.Equal(0, await opsTab.NextUnreadCountAsync());
    }

    [Fact]
    public async Task Reconnect_then_sync_returns_exactly_the_missed_notifications()
    {
        var user = TestUsers.New("mobile");
        await using var hub = await service.ConnectAsync(user);
        var seen = await service.SendAsync("sender", TestUsers.Notification("seen live", user));
        Assert.Equal(seen, (await hub.NextNotificationAsync()).Id);
        await hub.StopAsync();

        var missed = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            missed.Add(await service.SendAsync("sender", TestUsers.Notification($"missed {i}", user)));
        }

        await service.SendAsync("sender", TestUsers.Notification("for someone else", TestUsers.New("x")));
        await hub.StartAsync();
        var page = await hub.SyncAsync(seen);

        Assert.Equal(missed, page.Items.Select(n => n.Id).Except(BroadcastIds(page)));
        Assert.False(page.HasMore);
        Assert.Equal(page.Items[^1].Id, page.Cursor);
        var empty = await hub.SyncAsync(page.Cursor);
        Assert.Empty(empty.Items);
        Assert.Equal(page.Cursor, empty.Cursor);
    }

    // A broadcast from another test of this class may fall in the window; it is visible to everyone, so it belongs in the page.
    private static IEnumerable<long> BroadcastIds(SyncPage page) => page.Items.Where(IsBroadcast).Select(n => n.Id);

    private static bool IsBroadcast(NotificationDto notification) => notification.Type.StartsWith("system.", StringComparison.Ordinal);

    [Fact]
    public async Task Another_users_notification_is_not_found()
    {
        var (owner, stranger) = (TestUsers.New("owner"), TestUsers.New("stranger"));
        var id = await service.SendAsync("sender", TestUsers.Notification("private", owner));
        using var http = service.Client(stranger);

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/notifications/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"api/notifications/{id}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsJsonAsync("api/notifications/read", new { ids = new[] { id } })).StatusCode);
        using var ownerHttp = service.Client(owner);
        var own = await ownerHttp.GetFromJsonAsync<NotificationDto>($"api/notifications/{id}");
        Assert.Null(own!.ReadAt);
    }

    [Fact]
    public async Task Unknown_group_in_the_audience_is_not_found()
    {
        using var admin = service.Client("admin-1", "admin");
        var response = await admin.PostAsJsonAsync("api/notifications", new { type = "x", title = "t", audience = new { groups = new[] { "no-such-group" } } });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-group", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_payload_is_rejected_naming_each_bad_field()
    {
        using var admin = service.Client("admin-1", "admin");
        var response = await admin.PostAsJsonAsync("api/notifications", new
        {
            type = "Not A Type!",
            title = "",
            body = new string('b', 4001),
            data = new[] { 1, 2 },
            priority = "urgent",
            expiresAt = DateTime.UtcNow.AddMinutes(-1),
            audience = new { },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var fields = problem.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.Equal(["audience", "body", "data", "expiresAt", "priority", "title", "type"], fields.Order());
    }

    [Fact]
    public async Task Missing_expired_or_foreign_tokens_are_unauthorized()
    {
        var expired = TestTokens.Create("u", [], TimeSpan.FromMinutes(1), issuedAt: DateTime.UtcNow.AddMinutes(-10));
        var wrongAudience = TestTokens.Create("u", [], TimeSpan.FromHours(1), audience: "someone-else");
        var wrongKey = TestTokens.Create("u", [], TimeSpan.FromHours(1), signingKey: "another-signing-key-that-is-long-enough-9876");
        foreach (var token in new[] { null, expired, wrongAudience, wrongKey })
        {
            using var http = service.ClientWithToken(token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/notifications")).StatusCode);
            var hub = new HubClient(HubClient.Builder(service.BaseUri, () => token).Build());
            await using (hub)
            {
                var error = await Assert.ThrowsAsync<HttpRequestException>(hub.StartAsync);
                Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
            }
        }
    }

    [Fact]
    public async Task Subscribe_takes_effect_at_once_for_all_live_connections_of_the_user()
    {
        var group = $"open-{Guid.NewGuid():N}"[..16];
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(group, "open");
        var user = TestUsers.New("fan");
        await using var phone = await service.ConnectAsync(user);
        await using var laptop = await service.ConnectAsync(user);

        var result = await phone.InvokeAsync<SubscribeResult>("Subscribe", group);
        Assert.Equal(group, result.Group);

        // Idempotent, and the joinedAt answered is the one stored (PostgreSQL keeps whole microseconds).
        Assert.Equal(result, await laptop.InvokeAsync<SubscribeResult>("Subscribe", group));
        var id = await service.SendAsync("admin-1", new { type = "news", title = "hello group", audience = new { groups = new[] { group } } });

        Assert.Equal(id, (await phone.NextNotificationAsync()).Id);
        Assert.Equal(id, (await laptop.NextNotificationAsync()).Id);

        await laptop.InvokeAsync("Unsubscribe", group);
        var after = await service.SendAsync("admin-1", new { type = "news", title = "after leaving", audience = new { groups = new[] { group } } });
        var sentinel = await service.SendAsync("admin-1", TestUsers.Notification("sentinel", user));
        Assert.Empty(await phone.ReceiveUntilAsync(sentinel));
        Assert.DoesNotContain(after, (await laptop.ReceiveUntilAsync(sentinel)).Select(n => n.Id));
    }

    [Fact]
    public async Task A_created_group_is_at_its_location_for_those_who_may_list_it()
    {
        var (restricted, open) = ($"vip-{Guid.NewGuid():N}"[..14], $"pub-{Guid.NewGuid():N}"[..14]);
        using var admin = service.Client("admin-1", "admin");
        using var created = await admin.PostAsJsonAsync("api/groups", new { name = restricted, kind = "restricted" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var atLocation = await admin.GetFromJsonAsync<GroupDto>(created.Headers.Location);
        Assert.Equal(new GroupDto(restricted, "restricted", false, atLocation!.CreatedAt), atLocation);
        Assert.Equal(atLocation, await created.Content.ReadFromJsonAsync<GroupDto>());
        await admin.CreateGroupAsync(open, "open");

        var user = TestUsers.New("vip");
        using var http = service.Client(user);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/groups/{restricted}")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{restricted}/members/{user}", null)).StatusCode);
        Assert.True((await http.GetFromJsonAsync<GroupDto>($"api/groups/{restricted}"))!.IsMember);
        Assert.False((await http.GetFromJsonAsync<GroupDto>($"api/groups/{open}"))!.IsMember);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/groups/no-{Guid.NewGuid():N}"[..20])).StatusCode);
    }

    [Fact]
    public async Task Members_and_admins_are_told_a_restricted_group_cannot_be_joined_or_left_by_themselves()
    {
        var group = $"vip-{Guid.NewGuid():N}"[..14];
        var (member, root) = (TestUsers.New("member"), TestUsers.New("root"));
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(group, "restricted");
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{member}", null).WithTimeout()).StatusCode);
        await using var memberHub = await service.ConnectAsync(member);
        await using var adminHub = await service.ConnectAsync(root, "admin");

        var toMember = await Assert.ThrowsAsync<HubException>(() => memberHub.InvokeAsync<SubscribeResult>("Subscribe", group));
        var toAdmin = await Assert.ThrowsAsync<HubException>(() => adminHub.InvokeAsync<SubscribeResult>("Subscribe", group));
        var leaving = await Assert.ThrowsAsync<HubException>(() => memberHub.InvokeAsync("Unsubscribe", group));

        Assert.Contains("restricted", toMember.Message, StringComparison.Ordinal);
        Assert.Contains("restricted", toAdmin.Message, StringComparison.Ordinal);
        Assert.Contains("restricted", leaving.Message, StringComparison.Ordinal);
        using var http = service.Client(member);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.PutAsync($"api/groups/{group}/members/{member}", null).WithTimeout()).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await http.DeleteAsync($"api/groups/{group}/members/{member}").WithTimeout()).StatusCode);
        Assert.True((await http.GetFromJsonAsync<GroupDto>($"api/groups/{group}").WithTimeout())!.IsMember);
    }

    [Fact]
    public async Task A_restricted_group_a_user_may_not_see_answers_as_if_it_did_not_exist()
    {
        var (hidden, missing) = ($"vip-{Guid.NewGuid():N}"[..16], $"nil-{Guid.NewGuid():N}"[..16]);
        var (user, other) = (TestUsers.New("prober"), TestUsers.New("other"));
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(hidden, "restricted");

        // A publisher may send to the group but is no more entitled to learn it exists than anyone else.
        foreach (var roles in new[] { Array.Empty<string>(), ["publisher"] })
        {
            using var http = service.Client(user, roles);
            (HttpMethod Method, string Path)[] doors =
            [
                (HttpMethod.Get, ""),
                (HttpMethod.Put, $"/members/{user}"),
                (HttpMethod.Put, $"/members/{other}"),
                (HttpMethod.Put, "/members/%20padded"),
                (HttpMethod.Delete, $"/members/{user}"),
                (HttpMethod.Delete, $"/members/{other}"),
            ];
            foreach (var (method, path) in doors)
            {
                var asMissing = await AnswerAsync(http, method, missing, path);
                var asHidden = await AnswerAsync(http, method, hidden, path);

                Assert.Equal(HttpStatusCode.NotFound, asMissing.Status);
                Assert.Equal(asMissing, asHidden);
            }
        }

        using var prober = service.Client(user);
        Assert.Equal(HttpStatusCode.NotFound, (await prober.GetAsync($"api/groups/{hidden}").WithTimeout()).StatusCode);
    }

    [Fact]
    public async Task A_restricted_group_a_user_may_not_see_answers_from_the_hub_as_if_it_did_not_exist()
    {
        var (hidden, missing) = ($"vip-{Guid.NewGuid():N}"[..16], $"nil-{Guid.NewGuid():N}"[..16]);
        var user = TestUsers.New("prober");
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(hidden, "restricted");

        foreach (var roles in new[] { Array.Empty<string>(), ["publisher"] })
        {
            await using var hub = await service.ConnectAsync(user, roles);
            Func<string, Task>[] doors = [group => hub.InvokeAsync<SubscribeResult>("Subscribe", group), group => hub.InvokeAsync("Unsubscribe", group)];
            foreach (var door in doors)
            {
                var asMissing = await Assert.ThrowsAsync<HubException>(() => door(missing));
                var asHidden = await Assert.ThrowsAsync<HubException>(() => door(hidden));

                Assert.Contains("not found", asMissing.Message, StringComparison.Ordinal);
                Assert.Equal(asMissing.Message.Replace(missing, "{name}", StringComparison.Ordinal), asHidden.Message.Replace(hidden, "{name}", StringComparison.Ordinal));
            }
        }

        using var prober = service.Client(user);
        Assert.Equal(HttpStatusCode.NotFound, (await prober.GetAsync($"api/groups/{hidden}").WithTimeout()).StatusCode);
    }

    /// <summary>The status, media type and ProblemDetails of a group request, the group's name in it made generic.</summary>
    private static async Task<(HttpStatusCode Status, string? MediaType, string Problem)> AnswerAsync(HttpClient http, HttpMethod method, string group, string rest)
    {
        using var request = new HttpRequestMessage(method, $"api/groups/{group}{rest}");
        using var response = await http.SendAsync(request).WithTimeout(what: $"{method} on group {group}{rest}");
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync().WithTimeout())!.AsObject();

        // Differs on every request, whatever the group.
        problem.Remove("traceId");
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, problem.ToJsonString().Replace(group, "{name}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unread_count_counts_each_visible_notification_once_whatever_part_of_the_audience_matched()
    {
        var user = TestUsers.New("counted");
        var role = $"ops-{Guid.NewGuid():N}"[..16];
        var (joined, joinedLater) = ($"g1-{Guid.NewGuid():N}"[..16], $"g2-{Guid.NewGuid():N}"[..16]);
        using var admin = service.Client("admin-1", "admin");
        using var http = service.Client(user, role);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null)).StatusCode);
        foreach (var group in new[] { joined, joinedLater })
        {
            await admin.CreateGroupAsync(group, "restricted");
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{joined}/members/{user}", null)).StatusCode);
        var beforeJoining = await service.SendAsync("admin-1", new { type = "team.news", title = "before joining", audience = new { groups = new[] { joinedLater } } });
        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{joinedLater}/members/{user}", null)).StatusCode);

        var counted = new List<long>
        {
            await service.SendAsync("admin-1", new { type = "system.note", title = "broadcast", audience = new { everyone = true } }),
            await service.SendAsync("admin-1", TestUsers.Notification("direct", user)),
            await service.SendAsync("admin-1", new { type = "ops.page", title = "role", audience = new { roles = new[] { role } } }),
            await service.SendAsync("admin-1", new { type = "ops.page", title = "user and role", audience = new { users = new[] { user }, roles = new[] { role } } }),
            await service.SendAsync("admin-1", new { type = "system.note", title = "everyone and user", audience = new { everyone = true, users = new[] { user } } }),
            await service.SendAsync("admin-1", new { type = "team.news", title = "both groups", audience = new { groups = new[] { joined, joinedLater } } }),
        };
        var retracted = await service.SendAsync("admin-1", new { type = "system.note", title = "retracted", audience = new { everyone = true } });
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{retracted}")).StatusCode);

        Assert.Equal(counted.Count, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        var unread = await http.GetFromJsonAsync<InboxPage>("api/notifications?status=unread&limit=100");
        Assert.Equal(counted.OrderDescending(), unread!.Items.Select(n => n.Id));
        Assert.DoesNotContain(beforeJoining, unread.Items.Select(n => n.Id));

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{counted[2]}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{counted[0]}/archive", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{counted[5]}/seen", null)).StatusCode);
        Assert.Equal(counted.Count - 2, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
    }

    [Fact]
    public async Task A_connection_in_several_parts_of_the_audience_gets_each_push_once()
    {
        var user = TestUsers.New("overlap");
        var role = $"ops-{Guid.NewGuid():N}"[..16];
        string[] groups = [$"o1-{Guid.NewGuid():N}"[..16], $"o2-{Guid.NewGuid():N}"[..16]];
        using var admin = service.Client("admin-1", "admin");
        foreach (var group in groups)
        {
            await admin.CreateGroupAsync(group, "restricted");
            Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{group}/members/{user}", null)).StatusCode);
        }

        await using var hub = await service.ConnectAsync(user, role);
        await hub.InGroupsAsync();

        var everyPart = await service.SendAsync("admin-1", new { type = "ops.page", title = "every part", audience = new { users = new[] { user }, roles = new[] { role }, groups } });
        var bothGroups = await service.SendAsync("admin-1", new { type = "team.news", title = "both groups", audience = new { groups } });
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{everyPart}")).StatusCode);
        var marker = await service.SendAsync("admin-1", TestUsers.Notification("marker", user));

        // Pushes leave in commit order, so anything sent twice would arrive before the marker.
        Assert.Equal([everyPart, bothGroups], (await hub.ReceiveUntilAsync(marker)).Select(n => n.Id));
        Assert.Equal(everyPart, await hub.NextRetractionAsync());
        Assert.False(hub.HasPendingRetraction);
    }

    [Fact]
    public async Task Sync_returns_what_the_inbox_shows_with_the_same_read_state()
    {
        var user = TestUsers.New("syncer");
        var role = $"ops-{Guid.NewGuid():N}"[..16];
        var (joined, joinedLater) = ($"g1-{Guid.NewGuid():N}"[..16], $"g2-{Guid.NewGuid():N}"[..16]);
        using var admin = service.Client("admin-1", "admin");
        using var http = service.Client(user, role);
        foreach (var group in new[] { joined, joinedLater })
        {
            await admin.CreateGroupAsync(group, "restricted");
        }

        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{joined}/members/{user}", null)).StatusCode);
        var start = await service.SendAsync("admin-1", TestUsers.Notification("start", user));
        var beforeJoining = await service.SendAsync("admin-1", new { type = "team.news", title = "before joining", audience = new { groups = new[] { joinedLater } } });
        await Task.Delay(20);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync($"api/groups/{joinedLater}/members/{user}", null)).StatusCode);
        var visible = new List<long>
        {
            await service.SendAsync("admin-1", TestUsers.Notification("direct", user)),
            await service.SendAsync("admin-1", new { type = "ops.page", title = "role", audience = new { roles = new[] { role } } }),
            await service.SendAsync("admin-1", new { type = "team.news", title = "joined group", audience = new { groups = new[] { joined } } }),
            await service.SendAsync("admin-1", new { type = "team.news", title = "both groups", audience = new { groups = new[] { joined, joinedLater } } }),
            await service.SendAsync("admin-1", new { type = "ops.page", title = "user and role", audience = new { users = new[] { user }, roles = new[] { role } } }),
        };
        var retracted = await service.SendAsync("admin-1", TestUsers.Notification("retracted", user));
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"api/notifications/{retracted}")).StatusCode);
        await service.SendAsync("admin-1", new { type = "ops.page", title = "another role", audience = new { roles = new[] { "not-" + role } } });
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{visible[1]}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{visible[2]}/seen", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{visible[3]}/archive", null)).StatusCode);

        await using var hub = await service.ConnectAsync(user, role);
        var page = await hub.SyncAsync(start).WithTimeout();
        var synced = page.Items.Where(n => !IsBroadcast(n)).ToList();
        var inbox = (await http.GetFromJsonAsync<InboxPage>("api/notifications?limit=100&includeArchived=true"))!.Items
            .Where(n => n.Id > start && !IsBroadcast(n)).OrderBy(n => n.Id).ToList();

        Assert.Equal(visible, synced.Select(n => n.Id));
        Assert.DoesNotContain(beforeJoining, page.Items.Select(n => n.Id));
        Assert.Equal(inbox.Select(n => (n.Id, n.ReadAt, n.SeenAt, n.ArchivedAt)), synced.Select(n => (n.Id, n.ReadAt, n.SeenAt, n.ArchivedAt)));
        Assert.NotNull(synced[1].ReadAt);
        Assert.NotNull(synced[2].SeenAt);
        Assert.NotNull(synced[3].ArchivedAt);

        var limited = await hub.SyncAsync(start, limit: 2).WithTimeout();
        Assert.True(limited.HasMore);
        Assert.Equal(page.Items.Take(2).Select(n => n.Id), limited.Items.Select(n => n.Id));
    }

    [Fact]
    public async Task Inbox_pages_newest_first_and_archive_and_read_all_leave_the_unread_count()
    {
        var user = TestUsers.New("pager");
        using var http = service.Client(user);
        await http.PostAsync("api/notifications/read-all", null);
        var ids = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add(await service.SendAsync("sender", TestUsers.Notification($"n{i}", user)));
        }

        var first = await http.GetFromJsonAsync<InboxPage>("api/notifications?limit=2");
        Assert.Equal([ids[4], ids[3]], first!.Items.Select(n => n.Id));
        Assert.True(first.HasMore);
        var second = await http.GetFromJsonAsync<InboxPage>($"api/notifications?limit=2&before={first.NextBefore}");
        Assert.Equal([ids[2], ids[1]], second!.Items.Select(n => n.Id));

        Assert.Equal(5, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{ids[0]}/archive", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{ids[1]}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{ids[1]}/read", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync($"api/notifications/{ids[2]}/seen", null)).StatusCode);
        Assert.Equal(3, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);

        var unread = await http.GetFromJsonAsync<InboxPage>("api/notifications?status=unread");
        Assert.Equal([ids[4], ids[3], ids[2]], unread!.Items.Select(n => n.Id));
        var read = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{ids[1]}");
        Assert.NotNull(read!.ReadAt);
        Assert.Equal(read.ReadAt, read.SeenAt);
        var withArchived = await http.GetFromJsonAsync<InboxPage>("api/notifications?status=all&includeArchived=true");
        Assert.NotNull(withArchived!.Items.Single(n => n.Id == ids[0]).ArchivedAt);

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostAsync("api/notifications/read-all", null)).StatusCode);
        Assert.Equal(0, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count"))!.Count);
        Assert.NotNull((await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{ids[4]}"))!.ReadAt);
    }

    [Fact]
    public async Task Retract_removes_the_notification_and_pushes_the_retraction()
    {
        var user = TestUsers.New("target");
        await using var hub = await service.ConnectAsync(user);
        var id = await service.SendAsync("billing", TestUsers.Notification("wrong invoice", user), "publisher");
        await hub.ReceiveUntilAsync(id);

        // One who may not see it gets what GET gives them (404); one who sees it but did not send it, 403.
        using var stranger = service.Client("other-publisher", "publisher");
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"api/notifications/{id}")).StatusCode);
        using var recipient = service.Client(user);
        Assert.Equal(HttpStatusCode.Forbidden, (await recipient.DeleteAsync($"api/notifications/{id}")).StatusCode);
        using var sender = service.Client("billing", "publisher");
        Assert.Equal(HttpStatusCode.NoContent, (await sender.DeleteAsync($"api/notifications/{id}")).StatusCode);

        Assert.Equal(id, await hub.NextRetractionAsync());
        using var http = service.Client(user);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"api/notifications/{id}")).StatusCode);
        Assert.DoesNotContain(id, (await hub.SyncAsync(id - 1)).Items.Select(n => n.Id));
    }
}

public sealed class SqliteCoreBehaviourTests(SqliteServiceFixture service) : CoreBehaviourTests(service), IClassFixture<SqliteServiceFixture>;

public sealed class PostgresCoreBehaviourTests(PostgresServiceFixture service) : CoreBehaviourTests(service), IClassFixture<PostgresServiceFixture>;
