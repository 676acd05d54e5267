using Notifications.Tests.Infrastructure;
using Notifications.Tests.Integration;

namespace Notifications.Tests.Client;

/// <summary>The .NET SDK with <c>UseMessagePack</c> against the service with <c>Hub:MessagePack</c> on: the app sees what it sees over JSON.</summary>
public sealed class NotificationsClientMessagePackTests(MessagePackServiceFixture service) : IClassFixture<MessagePackServiceFixture>
{
    [Fact]
    public async Task Client_over_MessagePack_receives_the_same_typed_notification_as_over_JSON()
    {
        var user = TestUsers.New("packed-sdk");
        await using var packed = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, user) with { UseMessagePack = true });
        await using var json = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, user));

        var id = await service.SendAsync("orders-service", new
        {
            type = "order.shipped",
            title = "Your order shipped",
            body = "Order 1234 is on its way",
            data = new { orderId = 1234, carrier = "dhl", weight = 1.25, parts = new object[] { 1, "two", true }, gift = (string?)null },
            priority = "high",
            expiresAt = DateTime.UtcNow.AddDays(1),
            audience = new { users = new[] { user } },
        });

        var viaPack = await packed.NextNotificationAsync();
        var viaJson = await json.NextNotificationAsync();
        Assert.Equal(id, viaPack.Id);
        Assert.Equal(viaJson with { Data = null }, viaPack with { Data = null });
        Assert.Equal(viaJson.Data!.Value.GetRawText(), viaPack.Data!.Value.GetRawText());
        Assert.Equal(1234, viaPack.Data.Value.GetProperty("orderId").GetInt32());
        Assert.Equal(TimeSpan.Zero, viaPack.CreatedAt.Offset);
        Assert.NotNull(viaPack.ExpiresAt);
    }

    [Fact]
    public async Task Client_over_MessagePack_catches_up_subscribes_and_hears_read_all()
    {
        var user = TestUsers.New("packed-sync");
        var group = $"packed{Guid.NewGuid():N}"[..16];
        using (var admin = service.Client("admin-1", "admin"))
        {
            await admin.CreateGroupAsync(group, "open");
        }

        var backlog = new[]
        {
            await service.SendAsync("sender", TestUsers.Notification("one", user)),
            await service.SendAsync("sender", TestUsers.Notification("two", user)),
        };

        await using var packed = await ClientRecorder.StartAsync(ClientRecorder.OptionsFor(service.BaseUri, user) with { UseMessagePack = true, SyncPageSize = 1 });
        var joined = await packed.Client.SubscribeAsync(group).WithTimeout(what: "Subscribe");
        await packed.Client.MarkAllReadAsync().WithTimeout(what: "MarkAllRead");

        Assert.Equal(backlog, packed.DeliveredIds);
        Assert.Equal(group, joined.Group);
        Assert.InRange(joined.JoinedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.True(await packed.NextAllReadAsync() >= backlog[^1]);
        Assert.Equal(0, await packed.Client.GetUnreadCountAsync().WithTimeout(what: "GetUnreadCount"));
    }
}
