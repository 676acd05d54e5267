using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Inbox;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Integration;

/// <summary>The service with <c>Hub:MessagePack</c> on, on SQLite.</summary>
public sealed class MessagePackServiceFixture : ServiceFixture
{
    public override string ProviderName => "Sqlite";

    protected override Dictionary<string, string?> ExtraSettings() => new() { ["Hub:MessagePack"] = "true" };

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(OwnTempDirectory("notifications-msgpack-"), "notifications.db")));
}

/// <summary>
/// SignalR's binary MessagePack protocol, read the way a client without our types reads it (SignalR's default
/// resolver, maps as dictionaries): the contract's camelCase keys, times as timestamps, <c>data</c> as a native map.
/// </summary>
public sealed class MessagePackProtocolTests(MessagePackServiceFixture service) : IClassFixture<MessagePackServiceFixture>
{
    [Fact]
    public async Task A_MessagePack_client_receives_the_notification_a_JSON_client_receives_with_the_contracts_keys()
    {
        var user = TestUsers.New("packed");
        await using var packed = await ConnectAsync(user);
        await using var json = await service.ConnectAsync(user);
        var before = DateTime.UtcNow.AddSeconds(-5);

        var id = await service.SendAsync("orders-service", new
        {
            type = "order.shipped",
            title = "Your order shipped",
            body = "Order 1234 is on its way",
            data = new { orderId = 1234, price = 9.5, tags = new[] { "a", "b" }, gift = true, note = (string?)null },
            priority = "high",
            audience = new { users = new[] { user } },
        });

        var pushed = await packed.NextAsync();
        Assert.Equal(
            ["id", "type", "title", "body", "data", "priority", "senderId", "createdAt", "expiresAt", "readAt", "seenAt", "archivedAt"],
            pushed.Keys.Cast<string>());
        Assert.Equal(id, Convert.ToInt64(pushed["id"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("order.shipped", pushed["type"]);
        Assert.Equal("Order 1234 is on its way", pushed["body"]);
        Assert.Equal("high", pushed["priority"]);
        Assert.Equal("orders-service", pushed["senderId"]);
        var createdAt = Assert.IsType<DateTime>(pushed["createdAt"]);
        Assert.Equal(DateTimeKind.Utc, createdAt.Kind);
        Assert.InRange(createdAt, before, DateTime.UtcNow.AddSeconds(5));
        Assert.Null(pushed["readAt"]);

        var data = Assert.IsType<Dictionary<object, object>>(pushed["data"]);
        Assert.Equal(1234L, Convert.ToInt64(data["orderId"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(9.5, data["price"]);
        Assert.Equal(["a", "b"], ((object[])data["tags"]).Cast<string>());
        Assert.Equal(true, data["gift"]);
        Assert.Null(data["note"]);

        var same = await json.NextNotificationAsync();
        Assert.Equal(id, same.Id);
        Assert.Equal(createdAt, same.CreatedAt);
    }

    [Fact]
    public async Task Sync_and_the_unread_count_answer_over_MessagePack()
    {
        var user = TestUsers.New("packed-sync");
        var first = await service.SendAsync("sender", TestUsers.Notification("one", user));
        var second = await service.SendAsync("sender", TestUsers.Notification("two", user));
        await using var packed = await ConnectAsync(user);

        var page = await packed.Connection.InvokeAsync<Dictionary<object, object>>("Sync", first - 1, 100).WithTimeout(what: "Sync");
        var count = await packed.Connection.InvokeAsync<int>("GetUnreadCount").WithTimeout(what: "GetUnreadCount");

        Assert.Equal(["items", "hasMore", "cursor"], page.Keys.Cast<string>());
        var ids = ((object[])page["items"]).Select(i => Convert.ToInt64(((Dictionary<object, object>)i)["id"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal([first, second], ids);
        Assert.Equal(false, page["hasMore"]);
        Assert.Equal(second, Convert.ToInt64(page["cursor"], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(2, count);
    }

    [Fact]
    public async Task Read_all_pushes_its_watermark_over_MessagePack()
    {
        var user = TestUsers.New("packed-read");
        var id = await service.SendAsync("sender", TestUsers.Notification("one", user));
        await using var packed = await ConnectAsync(user);

        await packed.Connection.InvokeAsync("MarkAllRead").WithTimeout(what: "MarkAllRead");

        var allRead = await packed.AllRead.Reader.ReadAsync().AsTask().WithTimeout(what: "AllRead");
        Assert.Equal(["upToId"], allRead.Keys.Cast<string>());
        Assert.True(Convert.ToInt64(allRead["upToId"], System.Globalization.CultureInfo.InvariantCulture) >= id);
    }

    [Fact]
    public async Task Arguments_of_the_wrong_type_are_explained_over_MessagePack_too()
    {
        await using var packed = await ConnectAsync(TestUsers.New("packed-bad"));

        var error = await Assert.ThrowsAsync<HubException>(() => packed.Connection.InvokeAsync<object>("Sync", "abc", "x").WithTimeout(what: "Sync"));

        Assert.Contains("Error binding arguments", error.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, packed.Connection.State);
    }

    [Fact]
    public async Task Numbers_beyond_double_and_escaped_text_in_data_reach_both_protocols_and_the_MessagePack_client_stays_connected()
    {
        var user = TestUsers.New("packed-huge");
        await using var packed = await ConnectAsync(user);
        await using var json = await service.ConnectAsync(user);

        // 1e400 is valid JSON that no double holds; an escaped pair and an escaped backslash before "ud800" are not lone surrogates.
        var huge = await SendRawAsync($$$"""
            {"type":"test.huge","title":"huge","audience":{"users":["{{{user}}}"]},
             "data":{"up":1e400,"down":-1e400,"tiny":1e-400,"wide":123456789012345678901234567890,"smile":"\ud83d\ude00","path":"C:\\ud800"}}
            """);
        var after = await service.SendAsync("sender", TestUsers.Notification("after", user));

        var pushed = await packed.NextAsync();
        var data = Assert.IsType<Dictionary<object, object>>(pushed["data"]);
        Assert.Equal(double.PositiveInfinity, data["up"]);
        Assert.Equal(double.NegativeInfinity, data["down"]);
        Assert.Equal(0.0, data["tiny"]);
        Assert.Equal(1.2345678901234568E+29, data["wide"]);
        Assert.Equal("\U0001F600", data["smile"]);
        Assert.Equal("C:\\ud800", data["path"]);
        Assert.Equal(after, IdOf(await packed.NextAsync()));
        Assert.Equal(HubConnectionState.Connected, packed.Connection.State);
        Assert.Equal([huge, after], await SyncIdsAsync(packed));

        var first = await json.NextNotificationAsync();
        Assert.Equal(huge, first.Id);
        Assert.Equal("1e400", first.Data!.Value.GetProperty("up").GetRawText());
        Assert.Equal("\U0001F600", first.Data.Value.GetProperty("smile").GetString());
        Assert.Equal(after, (await json.NextNotificationAsync()).Id);
    }

    [Theory]
    [InlineData("""{"note":"half \ud800 a pair"}""")]
    [InlineData("""{"\uDC00":1}""")]
    [InlineData("""{"list":[{"deep":"\udbff\u0041"}]}""")]
    public async Task Data_holding_a_lone_surrogate_is_refused_at_send_and_the_clients_stay_connected(string data)
    {
        var user = TestUsers.New("packed-half");
        await using var packed = await ConnectAsync(user);
        await using var json = await service.ConnectAsync(user);

        using var refused = await PostRawAsync($$$"""{"type":"test.half","title":"half","data":{{{data}}},"audience":{"users":["{{{user}}}"]}}""");
        var after = await service.SendAsync("sender", TestUsers.Notification("after", user));

        var body = await refused.Content.ReadAsStringAsync().WithTimeout(what: "the refusal's body");
        Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{(int)refused.StatusCode}: {body}");
        using var problem = JsonDocument.Parse(body);

        // A key is read while the body is parsed (to refuse duplicate keys), a value only by the send's rules.
        var reason = problem.RootElement.TryGetProperty("errors", out var errors)
            ? errors.GetProperty("data")[0].GetString()
            : problem.RootElement.GetProperty("detail").GetString();
        Assert.Contains("surrogate", reason, StringComparison.Ordinal);
        Assert.Contains("data", reason, StringComparison.Ordinal);
        Assert.Equal(after, IdOf(await packed.NextAsync()));
        Assert.Equal(after, (await json.NextNotificationAsync()).Id);
        Assert.Equal(HubConnectionState.Connected, packed.Connection.State);
        Assert.Equal([after], await SyncIdsAsync(packed));
    }

    [Fact]
    public async Task Stored_data_holding_a_lone_surrogate_reads_as_a_replacement_character_everywhere()
    {
        // Rows stored before the send refused such data, or written by hand: a lone half must not make the notification
        // unreadable, nor abort the connections it is written to.
        var user = TestUsers.New("stored-half");
        var id = await SendRawAsync($$$"""{"type":"test.half","title":"half","data":{"note":"whole"},"audience":{"users":["{{{user}}}"]}}""");
        await using (var scope = service.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
            var updated = await db.Notifications.Where(n => n.Id == id)
                .ExecuteUpdateAsync(set => set.SetProperty(n => n.Data, """{"note":"half \ud800 a pair","\udc00":[{"deep":"\udbff\u0041"}],"pair":"\ud83d\ude00","path":"C:\\ud800"}"""))
                .WithTimeout();
            Assert.Equal(1, updated);
        }

        await using var packed = await ConnectAsync(user);
        await using var json = await service.ConnectAsync(user);
        using var http = service.Client(user);

        var page = await packed.Connection.InvokeAsync<Dictionary<object, object>>("Sync", 0L, 100).WithTimeout(what: "Sync(0) over MessagePack");
        var data = Assert.IsType<Dictionary<object, object>>(((Dictionary<object, object>)((object[])page["items"]).Single())["data"]);
        Assert.Equal("half \uFFFD a pair", data["note"]);
        Assert.Equal("\uFFFDA", ((Dictionary<object, object>)((object[])data["\uFFFD"]).Single())["deep"]);
        Assert.Equal("\U0001F600", data["pair"]);
        Assert.Equal("C:\\ud800", data["path"]);

        var synced = (await json.Connection.InvokeAsync<SyncPage>("Sync", 0L, 100).WithTimeout(what: "Sync(0) over JSON")).Items.Single();
        Assert.Equal("half \uFFFD a pair", synced.Data!.Value.GetProperty("note").GetString());
        using var response = await http.GetAsync($"api/notifications/{id}").WithTimeout(what: "the notification over REST");
        var body = await response.Content.ReadAsStringAsync().WithTimeout(what: "its body");
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {body}");
        using var rest = JsonDocument.Parse(body);
        Assert.Equal("half \uFFFD a pair", rest.RootElement.GetProperty("data").GetProperty("note").GetString());

        var after = await service.SendAsync("sender", TestUsers.Notification("after", user));
        Assert.Equal(after, IdOf(await packed.NextAsync()));
        Assert.Equal(after, (await json.NextNotificationAsync()).Id);
        Assert.Equal(HubConnectionState.Connected, packed.Connection.State);
        Assert.Equal(HubConnectionState.Connected, json.Connection.State);
    }

    private static long IdOf(Dictionary<object, object> notification) =>
        Convert.ToInt64(notification["id"], System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<long[]> SyncIdsAsync(PackedClient packed)
    {
        var page = await packed.Connection.InvokeAsync<Dictionary<object, object>>("Sync", 0L, 100).WithTimeout(what: "Sync(0)");
        return [.. ((object[])page["items"]).Select(i => IdOf((Dictionary<object, object>)i))];
    }

    private async Task<HttpResponseMessage> PostRawAsync(string body)
    {
        using var client = service.Client("sender", "admin");
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        return await client.PostAsync("api/notifications", content).WithTimeout(what: "the send");
    }

    private async Task<long> SendRawAsync(string body)
    {
        using var response = await PostRawAsync(body);
        var text = await response.Content.ReadAsStringAsync().WithTimeout(what: "the send's response body");
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{(int)response.StatusCode}: {text}");
        using var created = JsonDocument.Parse(text);
        return created.RootElement.GetProperty("id").GetInt64();
    }

    private async Task<PackedClient> ConnectAsync(string user)
    {
        var connection = HubClient.Builder(service.BaseUri, () => TestTokens.For(user)).AddMessagePackProtocol().Build();
        var client = new PackedClient(connection);
        await connection.StartAsync().WithTimeout(what: "the MessagePack connection to start");
        return client;
    }

    private sealed class PackedClient : IAsyncDisposable
    {
        private readonly Channel<Dictionary<object, object>> notifications = Channel.CreateUnbounded<Dictionary<object, object>>();

        public PackedClient(HubConnection connection)
        {
            Connection = connection;
            connection.On<Dictionary<object, object>>("ReceiveNotification", n => notifications.Writer.TryWrite(n));
            connection.On<Dictionary<object, object>>("AllRead", p => AllRead.Writer.TryWrite(p));
        }

        public HubConnection Connection { get; }

        public Channel<Dictionary<object, object>> AllRead { get; } = Channel.CreateUnbounded<Dictionary<object, object>>();

        public Task<Dictionary<object, object>> NextAsync() => notifications.Reader.ReadAsync().AsTask().WithTimeout(what: "ReceiveNotification over MessagePack");

        public async ValueTask DisposeAsync() => await Connection.DisposeAsync().AsTask().WaitAsync(Timeouts.Default);
    }
}

/// <summary>Without <c>Hub:MessagePack</c> the service speaks JSON only.</summary>
public sealed class MessagePackOffByDefaultTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task A_MessagePack_client_is_refused_at_the_handshake_when_it_is_not_enabled()
    {
        await using var connection = HubClient.Builder(service.BaseUri, () => TestTokens.For(TestUsers.New("unpacked"))).AddMessagePackProtocol().Build();

        var refused = await Record.ExceptionAsync(() => connection.StartAsync().WithTimeout(what: "the handshake"));

        Assert.NotNull(refused);
        Assert.Contains("messagepack", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HubConnectionState.Disconnected, connection.State);
    }

    [Fact]
    public async Task The_SDK_asking_for_MessagePack_is_refused_by_a_service_that_speaks_JSON_only()
    {
        await using var sdk = new Notifications.Client.NotificationsClient(
            Client.ClientRecorder.OptionsFor(service.BaseUri, TestUsers.New("unpacked-sdk")) with { UseMessagePack = true });

        var refused = await Record.ExceptionAsync(() => sdk.StartAsync().WithTimeout(what: "the SDK's start"));

        Assert.NotNull(refused);
        Assert.Contains("messagepack", refused.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(Notifications.Client.NotificationsConnectionState.Disconnected, sdk.State);
    }
}
