using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Notifications.Api.Auth;
using Notifications.Api.Groups;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Hubs;

/// <summary>
/// The real-time endpoint. Group membership of a connection is derived from its token (user, roles) and the
/// database (groups) on every connect; nothing a client says about itself is trusted.
/// </summary>
[Authorize]
public sealed class NotificationHub(
    InboxQueries inbox,
    ReadStateService readState,
    MembershipService memberships,
    GroupMoves groupMoves,
    ConnectionRegistry registry) : Hub<INotificationClient>
{
    private Viewer Viewer => Context.User!.ToViewer();

    private CancellationToken Aborted => Context.ConnectionAborted;

    public override async Task OnConnectedAsync()
    {
        var viewer = Viewer;
        foreach (var role in viewer.Roles)
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, HubGroups.Role(role), Aborted);
        }

        // Registered before the groups are read, so a membership change made meanwhile still reaches this connection.
        registry.Add(viewer.UserId, Context.ConnectionId, viewer.Roles);
        try
        {
            var groups = await memberships.GroupsOfAsync(viewer.UserId, Aborted);
            foreach (var (group, joinedAt) in groups)
            {
                // Read without the user's moves held: a time the mover records meanwhile stays.
                await groupMoves.JoinAsync(Context.ConnectionId, HubGroups.Group(group), joinedAt, readUnderHold: false, Aborted);
            }

            // A removal that committed after the read was applied to this connection before its groups were added,
            // so it removed nothing: read again and take out what is gone. (A join is never missed: the connection
            // is registered before the first read.) Users in no group, the most, skip it.
            // The membership mover's moves of this user wait meanwhile: a leave and a join again applied between this read
            // and its removals would otherwise be undone by them.
            if (groups.Count > 0)
            {
                using var hold = await groupMoves.HoldUserAsync(viewer.UserId, Aborted);
                var stored = await memberships.GroupsOfAsync(viewer.UserId, Aborted);
                foreach (var (group, joinedAt) in groups)
                {
                    if (!stored.TryGetValue(group, out var storedJoinedAt))
                    {
                        await groupMoves.LeaveAsync(Context.ConnectionId, HubGroups.Group(group), Aborted);
                    }
                    else if (storedJoinedAt != joinedAt)
                    {
                        // Left and joined again meanwhile: the new time now, whether or not the mover has applied it.
                        groupMoves.Rejoined(Context.ConnectionId, HubGroups.Group(group), storedJoinedAt, readUnderHold: true);
                    }
                }
            }
        }
        catch
        {
            // SignalR closes the connection without calling OnDisconnectedAsync: it must not stay counted here.
            registry.Remove(viewer.UserId, Context.ConnectionId);
            throw;
        }

        await base.OnConnectedAsync();
    }

    public override Task OnDisconnectedAsync(Exception? exception)
    {
        registry.Remove(Viewer.UserId, Context.ConnectionId);
        return base.OnDisconnectedAsync(exception);
    }

    public Task<SubscribeResult> Subscribe(string group) =>
        memberships.AddMemberAsync(Viewer, group ?? string.Empty, Viewer.UserId, viaSubscribe: true, Aborted);

    public Task Unsubscribe(string group) =>
        memberships.RemoveMemberAsync(Viewer, group ?? string.Empty, Viewer.UserId, Aborted);

    public Task Ack(long[] ids) => readState.MarkAsync(Viewer, RequireIds(ids), ReceiptField.Delivered, Aborted);

    public Task MarkRead(long[] ids) => readState.MarkAsync(Viewer, RequireIds(ids), ReceiptField.Read, Aborted);

    public Task MarkSeen(long[] ids) => readState.MarkAsync(Viewer, RequireIds(ids), ReceiptField.Seen, Aborted);

    public Task MarkAllRead() => readState.MarkAllReadAsync(Viewer, Aborted);

    public Task<SyncPage> Sync(long afterId, int limit)
    {
        if (afterId < 0)
        {
            throw new HubException("afterId must not be negative.");
        }

        if (limit is < 1 or > NotificationLimits.SyncMaxLimit)
        {
            throw new HubException($"limit must be 1-{NotificationLimits.SyncMaxLimit}.");
        }

        return inbox.SyncAsync(Viewer, afterId, limit, Aborted);
    }

    public Task<int> GetUnreadCount() => inbox.UnreadCountAsync(Viewer, Aborted);

    private static long[] RequireIds(long[]? ids) => ids switch
    {
        null => throw new HubException("ids is required."),
        { Length: > ReadStateService.MaxIdsPerCall } => throw new HubException($"At most {ReadStateService.MaxIdsPerCall} ids per call."),
        _ => ids,
    };
}
