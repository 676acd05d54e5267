using Microsoft.AspNetCore.SignalR;
using Notifications.Api.Hubs;
using Notifications.Infrastructure.Cluster;

namespace Notifications.Api.Groups;

/// <summary>Applies membership changes (from any instance) to this instance's live connections of that user.</summary>
public sealed class MembershipMover(IClusterBus bus, ConnectionRegistry registry, IHubContext<NotificationHub, INotificationClient> hub) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        bus.Subscribe(ApplyAsync);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task ApplyAsync(MembershipChanged change)
    {
        var group = HubGroups.Group(change.Group);
        foreach (var connectionId in registry.ConnectionsOf(change.UserId))
        {
            if (change.Joined)
            {
                await hub.Groups.AddToGroupAsync(connectionId, group);
            }
            else
            {
                await hub.Groups.RemoveFromGroupAsync(connectionId, group);
            }
        }
    }
}
