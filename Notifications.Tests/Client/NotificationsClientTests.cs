using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Notifications.Api.Admin;
using Notifications.Api.Inbox;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// The .NET SDK against the real service (Kestrel, SignalR, SQLite): what an app using <see cref="NotificationsClient"/>
/// observes. Users are unique per test; nothing here broadcasts, so tests in the fixture cannot see each other's sends.
/// </summary>
public sealed class NotificationsClientTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task Client_receives_a_notification_with_its_typed_payload()
    {
        var alice = TestUsers.New("alice");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, alice));

        var id = await service.SendAsync("orders-service", new
        {
            type = "order.shipped",
            title = "Your order shipped",
            body = "Order 1234 is on its way",
            data = new { orderId = 1234, carrier = "dhl" },
            priority = "high",
            audience = new { users = new[] { alice } },
        });

        var received = await client.NextNotificationAsync();
        Assert.Equal(id, received.Id);
        Assert.Equal("order.shipped", received.Type);
        Assert.Equal("Your order shipped", received.Title);
        Assert.Equal("Order 1234 is on its way", received.Body);
        Assert.Equal(1234, received.Data!.Value.GetProperty("orderId").GetInt32());
        Assert.Equal("dhl", received.Data.Value.GetProperty("carrier").GetString());
        Assert.Equal("high", received.Priority);
        Assert.Equal("orders-service", received.SenderId);
        Assert.Equal(TimeSpan.Zero, received.CreatedAt.Offset);
        Assert.Null(received.ExpiresAt);
        Assert.Null(received.ReadAt);
        Assert.Null(received.SeenAt);
        Assert.Null(received.ArchivedAt);
        await Timeouts.Eventually(() => Task.FromResult(client.Client.Cursor == id), "the cursor covers the delivered id");
    }

    [Fact]
    public async Task Start_delivers_the_backlog_in_id_order_before_it_returns()
    {
        var bob = TestUsers.New("bob");
        var sent = await SendSettledAsync(bob, 3);

        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, bob));

        Assert.Equal(sent, client.DeliveredIds);
        Assert.Equal(sent[^1], client.Client.Cursor);
        Assert.Equal(NotificationsConnectionState.Connected, client.Client.State);
    }

    [Fact]
    public async Task Start_from_a_saved_cursor_delivers_only_newer_notifications()
    {
        var carol = TestUsers.New("carol");
        var sent = await SendSettledAsync(carol, 3);

        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, carol) with { InitialCursor = sent[0] });

        Assert.Equal(sent[1..], client.DeliveredIds);
    }

    [Fact]
    public async Task Cursor_never_passes_a_backlog_notification_not_yet_raised_when_a_live_push_overtakes_the_sync()
    {
        var quinn = TestUsers.New("quinn");
        var backlog = await SendSettledAsync(quinn, 25);

        await using var witness = await service.ConnectAsync(quinn);
        await using var client = new ClientRecorder(ClientRecorder.OptionsFor(service.BaseUri, quinn) with { SyncPageSize = 10 });
        var secondPageStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var raised = new HashSet<long>();
        var passed = new List<long>();

        // Handlers run one at a time, so these collections need no lock. The cursor is what an app persists and
        // resumes from: every id it covers must have been raised already.
        client.Client.NotificationReceived += async n =>
        {
            var cursor = client.Client.Cursor;
            passed.AddRange(backlog.Where(id => id <= cursor && !raised.Contains(id)));
            raised.Add(n.Id);
            if (n.Id == backlog[10])
            {
                secondPageStarted.TrySetResult();
                await gate.Task.WaitAsync(Timeouts.Default);
            }
        };

        var start = client.Client.StartAsync();
        await secondPageStarted.Task.WithTimeout(what: "the second sync page");
        var live = await Send(quinn, "live while syncing");
        await witness.ReceiveUntilAsync(live);
        gate.TrySetResult();
        await start.WithTimeout(what: "the start and its catch-up");

        Assert.Empty(passed);
        Assert.Equal([.. backlog, live], client.DeliveredIds.Order());
        Assert.Equal(client.DeliveredIds.Count, client.DeliveredIds.Distinct().Count());
        await Timeouts.Eventually(() => Task.FromResult(client.Client.Cursor == live), "the cursor reaches the live id once the sync completed");
    }

    [Fact]
    public async Task A_manual_sync_raises_nothing_already_raised_live()
    {
        var dave = TestUsers.New("dave");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, dave));
        var id = await Send(dave, "live");
        await client.ReceiveThroughAsync(id);

        await client.Client.SyncAsync().WithTimeout(what: "a manual sync");
        var sentinel = await Send(dave, "sentinel");

        Assert.Equal([sentinel], (await client.ReceiveThroughAsync(sentinel)).Select(n => n.Id));
        Assert.Equal([id, sentinel], client.DeliveredIds);
    }

    [Fact]
    public async Task A_sync_asked_for_by_a_Synced_handler_raises_no_Synced_of_its_own()
    {
        var fay = TestUsers.New("fay");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, fay));
        var handled = 0;
        client.Client.Synced += async _ =>
        {
            Interlocked.Increment(ref handled);
            await client.Client.SyncAsync();
        };

        await client.Client.SyncAsync().WithTimeout(what: "a manual sync");
        var sentinel = await Send(fay, "sentinel");
        await client.ReceiveThroughAsync(sentinel);

        // The handler's own sync ran in the background meanwhile; had it raised Synced, the handler would be called
        // again and again.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(1, Volatile.Read(ref handled));
    }

    [Fact]
    public async Task A_sync_from_work_a_Synced_handler_started_raises_Synced_once_the_handler_is_done()
    {
        var gus = TestUsers.New("gus");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, gus));
        await client.NextSyncAsync();
        Task? later = null;
        client.Client.Synced += _ =>
        {
            // Started from the handler, run after it: a refresh the app schedules, not a sync inside the handler.
            later ??= Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
                await client.Client.SyncAsync();
            });
            return Task.CompletedTask;
        };

        await client.Client.SyncAsync().WithTimeout(what: "a manual sync");
        Assert.False((await client.NextSyncAsync()).Info.Reconnected);
        await Assert.IsAssignableFrom<Task>(later).WithTimeout(what: "the handler's later sync");
        Assert.False((await client.NextSyncAsync()).Info.Reconnected);
    }

    [Fact]
    public async Task MarkRead_shows_in_rest_and_reaches_the_users_other_client()
    {
        var erin = TestUsers.New("erin");
        await using var phone = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, erin));
        await using var laptop = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, erin));
        var first = await Send(erin, "first");
        var second = await Send(erin, "second");
        await phone.ReceiveThroughAsync(second);

        await phone.Client.MarkReadAsync(first).WithTimeout(what: "MarkReadAsync");

        Assert.Equal([first], await laptop.NextReadAsync());
        Assert.Equal(1, await laptop.NextUnreadCountAsync());
        Assert.Equal([first], await phone.NextReadAsync());
        Assert.Equal(1, await phone.NextUnreadCountAsync());
        using var http = service.Client(erin);
        var read = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{first}").WithTimeout(what: "GET the read notification");
        var unread = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{second}").WithTimeout(what: "GET the unread notification");
        Assert.NotNull(read!.ReadAt);
        Assert.NotNull(read.SeenAt);
        Assert.Null(unread!.ReadAt);
        Assert.Equal(1, (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count);
        Assert.Equal(1, await laptop.Client.GetUnreadCountAsync().WithTimeout(what: "GetUnreadCountAsync"));
    }

    [Fact]
    public async Task MarkAllRead_raises_AllRead_and_a_zero_count_on_the_users_other_client()
    {
        var frank = TestUsers.New("frank");
        await using var phone = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, frank));
        await using var laptop = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, frank));
        var id = await Send(frank, "one");
        await laptop.ReceiveThroughAsync(id);

        await phone.Client.MarkAllReadAsync().WithTimeout(what: "MarkAllReadAsync");

        Assert.True(await laptop.NextAllReadAsync() >= id);
        Assert.Equal(0, await laptop.NextUnreadCountAsync());
        using var http = service.Client(frank);
        Assert.NotNull((await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{id}").WithTimeout(what: "GET the notification"))!.ReadAt);
    }

    [Fact]
    public async Task Ack_from_inside_the_handler_records_delivery_without_marking_read()
    {
        var gina = TestUsers.New("gina");
        var acked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, gina));

        // A handler awaiting a hub call must not deadlock the SDK (it runs off SignalR's receive loop).
        client.Client.NotificationReceived += async n =>
        {
            await client.Client.AckAsync(n.Id);
            acked.TrySetResult(n.Id);
        };
        var id = await Send(gina, "ack me");

        Assert.Equal(id, await acked.Task.WithTimeout(what: "the handler's AckAsync to complete"));
        var stats = await StatsOfAsync(id);
        Assert.Equal(new FunnelStats(Delivered: 1, Seen: 0, Read: 0), stats);
        using var http = service.Client(gina);
        var dto = await http.GetFromJsonAsync<NotificationDto>($"api/notifications/{id}").WithTimeout(what: "GET the notification");
        Assert.Null(dto!.ReadAt);
        Assert.Null(dto.SeenAt);

        await client.Client.MarkReadAsync(id).WithTimeout(what: "MarkReadAsync");
        Assert.Equal(new FunnelStats(Delivered: 1, Seen: 1, Read: 1), await StatsOfAsync(id));
    }

    [Fact]
    public async Task Ack_of_an_id_the_user_cannot_see_is_ignored()
    {
        var (hank, other) = (TestUsers.New("hank"), TestUsers.New("other"));
        var notHis = await Send(other, "not for hank");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, hank));

        await client.Client.AckAsync(notHis).WithTimeout(what: "AckAsync");
        await client.Client.MarkReadAsync(notHis).WithTimeout(what: "MarkReadAsync");

        Assert.Equal(new FunnelStats(0, 0, 0), await StatsOfAsync(notHis));
    }

    [Fact]
    public async Task Subscribing_to_an_open_group_delivers_the_groups_next_send()
    {
        var ivy = TestUsers.New("ivy");
        var group = await CreateGroupAsync("open");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, ivy));

        var subscription = await client.Client.SubscribeAsync(group).WithTimeout(what: "SubscribeAsync");
        var id = await service.SendAsync("admin-1", new { type = "team.news", title = "hello group", audience = new { groups = new[] { group } } });

        Assert.Equal(group, subscription.Group);
        var received = await client.NextNotificationAsync();
        Assert.Equal(id, received.Id);
        Assert.True(received.CreatedAt >= subscription.JoinedAt);
    }

    [Fact]
    public async Task Unsubscribing_stops_the_groups_sends()
    {
        var jack = TestUsers.New("jack");
        var group = await CreateGroupAsync("open");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, jack));
        await client.Client.SubscribeAsync(group).WithTimeout(what: "SubscribeAsync");

        await client.Client.UnsubscribeAsync(group).WithTimeout(what: "UnsubscribeAsync");
        await service.SendAsync("admin-1", new { type = "team.news", title = "after leaving", audience = new { groups = new[] { group } } });
        var sentinel = await Send(jack, "sentinel");

        Assert.Equal([sentinel], (await client.ReceiveThroughAsync(sentinel)).Select(n => n.Id));
    }

    [Fact]
    public async Task Subscribing_to_a_restricted_group_one_is_not_in_is_refused_as_if_it_did_not_exist()
    {
        var kim = TestUsers.New("kim");
        var group = await CreateGroupAsync("restricted");
        var missing = $"g-{Guid.NewGuid():N}"[..16];
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, kim));

        var error = await Assert.ThrowsAsync<HubException>(() => client.Client.SubscribeAsync(group).WithTimeout(what: "SubscribeAsync"));
        var unknown = await Assert.ThrowsAsync<HubException>(() => client.Client.SubscribeAsync(missing).WithTimeout(what: "SubscribeAsync"));

        Assert.Contains($"Group '{group}' was not found.", error.Message, StringComparison.Ordinal);
        Assert.Equal(unknown.Message.Replace(missing, group, StringComparison.Ordinal), error.Message);
        using var http = service.Client(kim);
        var groups = await http.GetFromJsonAsync<Api.Groups.GroupList>("api/groups").WithTimeout(what: "GET groups");
        Assert.DoesNotContain(groups!.Items, g => g.Name == group);
    }

    [Fact]
    public async Task Retraction_raises_Retracted_once()
    {
        var liam = TestUsers.New("liam");
        await using var client = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, liam));
        var id = await Send(liam, "oops");
        await client.ReceiveThroughAsync(id);

        using var sender = service.Client("admin-1", "admin");
        using var first = await sender.DeleteAsync($"api/notifications/{id}").WithTimeout(what: "the retraction");
        using var again = await sender.DeleteAsync($"api/notifications/{id}").WithTimeout(what: "the repeated retraction");

        Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal(id, await client.NextRetractionAsync());
        var sentinel = await Send(liam, "sentinel");
        await client.ReceiveThroughAsync(sentinel);
        Assert.False(client.HasPendingRetraction);
    }

    [Fact]
    public async Task Hub_calls_before_start_fail_with_InvalidOperationException()
    {
        await using var client = new ClientRecorder(ClientRecorder.OptionsFor(service.BaseUri, TestUsers.New("mia")));

        await Assert.ThrowsAsync<InvalidOperationException>(() => client.Client.MarkReadAsync(1).WithTimeout(what: "MarkReadAsync"));
        Assert.Equal(NotificationsConnectionState.Disconnected, client.Client.State);
    }

    [Fact]
    public async Task Start_with_a_rejected_token_throws_and_leaves_the_client_disconnected()
    {
        var options = new NotificationsClientOptions(service.BaseUri, _ => Task.FromResult(TestTokens.Create("nora", [], TimeSpan.FromHours(1), signingKey: "a-different-signing-key-that-is-long-enough-42")));
        await using var client = new ClientRecorder(options);

        await Assert.ThrowsAsync<HttpRequestException>(() => client.Client.StartAsync().WithTimeout(what: "StartAsync"));
        Assert.Equal(NotificationsConnectionState.Disconnected, client.Client.State);
    }

    [Fact]
    public async Task Start_is_cancelled_by_its_token_while_the_token_provider_waits_and_a_later_start_succeeds()
    {
        var olive = TestUsers.New("olive");
        var identityProviderBack = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = ClientRecorder.OptionsFor(service.BaseUri, olive) with
        {
            // An identity provider that hangs until it is back, and honours the token it is given.
            AccessTokenProvider = async ct =>
            {
                await identityProviderBack.Task.WaitAsync(ct);
                return TestTokens.For(olive);
            },
        };
        await using var client = new ClientRecorder(options);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.Client.StartAsync(cancel.Token).WithTimeout(TimeSpan.FromSeconds(10), "the cancelled StartAsync to return"));
        Assert.Equal(NotificationsConnectionState.Disconnected, client.Client.State);

        identityProviderBack.SetResult();
        await client.Client.StartAsync().WithTimeout(what: "the next StartAsync");
        Assert.Equal(NotificationsConnectionState.Connected, client.Client.State);
        var id = await Send(olive, "after the cancelled start");
        Assert.Equal([id], (await client.ReceiveThroughAsync(id)).Select(n => n.Id));
    }

    private Task<long> Send(string user, string title) =>
        service.SendAsync("admin-1", TestUsers.Notification(title, user));

    /// <summary>
    /// Sends <paramref name="count"/> to the user and waits until the service has pushed each one (a connection of the
    /// user saw it), so a client started afterwards can only get them from its catch-up sync, in id order.
    /// </summary>
    private async Task<long[]> SendSettledAsync(string user, int count)
    {
        await using var witness = await service.ConnectAsync(user);
        var ids = new long[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = await Send(user, $"backlog {i}");
        }

        var pushed = new HashSet<long>();
        while (!pushed.IsSupersetOf(ids))
        {
            pushed.Add((await witness.NextNotificationAsync()).Id);
        }

        return ids;
    }

    private async Task<string> CreateGroupAsync(string kind)
    {
        var name = $"g-{Guid.NewGuid():N}"[..16];
        using var admin = service.Client("admin-1", "admin");
        await admin.CreateGroupAsync(name, kind);
        return name;
    }

    private async Task<FunnelStats> StatsOfAsync(long id)
    {
        using var admin = service.Client("admin-1", "admin");
        var page = await admin.GetFromJsonAsync<SentPage>($"api/admin/notifications?before={id + 1}&limit=1").WithTimeout(what: "the admin's sent list");
        return Assert.Single(page!.Items, n => n.Id == id).Stats;
    }
}
