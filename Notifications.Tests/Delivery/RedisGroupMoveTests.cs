using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Moving a connection that has just closed (a user's other connection went while a membership change or a resync
/// walked the user's connections) must not wait on the Redis backplane, which would look for it on the other
/// instances and wait some 30 s for an answer no one sends, holding up every membership change behind it.
/// </summary>
public sealed class RedisGroupMoveTests(RedisDeliveryFixture service) : IClassFixture<RedisDeliveryFixture>
{
    [Fact]
    public async Task Moving_a_connection_that_is_not_here_returns_at_once()
    {
        // A live connection first, so the backplane is up and in use.
        await using var hub = await service.ConnectAsync(TestUsers.New("present"));
        var groups = service.Services.GetRequiredService<HubLifetimeManager<NotificationHub>>();

        await groups.AddToGroupAsync("closed-a-moment-ago", HubGroups.Group("g")).WithTimeout(TimeSpan.FromSeconds(5), "adding a closed connection to a group");
        await groups.RemoveFromGroupAsync("closed-a-moment-ago", HubGroups.Group("g")).WithTimeout(TimeSpan.FromSeconds(5), "removing a closed connection from a group");
    }
}

/// <summary>
/// The service in this process on a real redis-server of its own.
/// </summary>
public class RedisDeliveryFixture : DeliveryFixture, IAsyncLifetime
{
    private RedisServer? redis;

    protected override bool OnPostgres => false;

    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        var settings = await base.DatabaseSettingsAsync();
        redis = await RedisServer.StartAsync();
        settings["Redis:Configuration"] = redis.Configuration;
        return settings;
    }

    async Task IAsyncLifetime.InitializeAsync()
    {
        await InitializeAsync();

        // A connection made before the instance's Redis links are up is closed once they are (its client reconnects and
        // syncs), losing the pushes in between on the wire: tests that count pushes start after that.
        var manager = (LocalFallbackHubLifetimeManager<NotificationHub>)Services.GetRequiredService<HubLifetimeManager<NotificationHub>>();
        await Timeouts.Eventually(() => Task.FromResult(manager.IsListening && manager.IsSettled), "the instance's Redis channels to be up", TimeSpan.FromSeconds(30));
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        if (redis is not null)
        {
            await redis.DisposeAsync();
        }
    }
}
