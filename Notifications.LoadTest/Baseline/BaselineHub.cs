using Microsoft.AspNetCore.SignalR;

namespace Notifications.LoadTest.Baseline;

/// <summary>
/// Plain SignalR hub with the contract's method names: no auth, no persistence beyond the naive in-memory store.
/// </summary>
internal sealed class BaselineHub(BaselineStore store) : Hub
{
    public override async Task OnConnectedAsync()
    {
        var http = Context.GetHttpContext();
        if (http is not null)
        {
            foreach (var role in UnvalidatedJwt.Read(UnvalidatedJwt.FromHttp(http)).Roles)
            {
                await Groups.AddToGroupAsync(Context.ConnectionId, "role:" + role);
            }
        }

        await base.OnConnectedAsync();
    }

    public async Task<object> Subscribe(string group)
    {
        await Groups.AddToGroupAsync(Context.ConnectionId, "group:" + group);
        return new { group, joinedAt = DateTimeOffset.UtcNow };
    }

    public Task Unsubscribe(string group) => Groups.RemoveFromGroupAsync(Context.ConnectionId, "group:" + group);

    public Task Ack(long[] ids)
    {
        _ = ids;
        return Task.CompletedTask;
    }

    public Task MarkRead(long[] ids)
    {
        _ = ids;
        return Task.CompletedTask;
    }

    public Task MarkAllRead()
    {
        store.ReadAll(User());
        return Task.CompletedTask;
    }

    public Task MarkSeen(long[] ids)
    {
        _ = ids;
        return Task.CompletedTask;
    }

    public BaselinePage Sync(long afterId, int limit) => store.Sync(User(), Roles(), afterId, limit);

    public int GetUnreadCount() => store.UnreadCount(User(), Roles());

    private string User() => Context.UserIdentifier ?? Context.ConnectionId;

    private string[] Roles()
    {
        var http = Context.GetHttpContext();
        return http is null ? [] : UnvalidatedJwt.Read(UnvalidatedJwt.FromHttp(http)).Roles;
    }
}

/// <summary>User id = `sub` of the (unvalidated) token in ?access_token= / Authorization, else ?user=.</summary>
internal sealed class BaselineUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection)
    {
        var http = connection.GetHttpContext();
        return http is null ? null : UnvalidatedJwt.UserOf(http);
    }
}
