using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Api.Inbox;

namespace Notifications.Tests.Infrastructure;

/// <summary>A real SignalR client whose every server-to-client method lands in its own channel; every wait is bounded.</summary>
public sealed class HubClient : IAsyncDisposable
{
    private readonly Channel<NotificationDto> notifications = Channel.CreateUnbounded<NotificationDto>();
    private readonly Channel<int> unreadCounts = Channel.CreateUnbounded<int>();
    private readonly Channel<long[]> reads = Channel.CreateUnbounded<long[]>();
    private readonly Channel<AllReadPayload> allReads = Channel.CreateUnbounded<AllReadPayload>();
    private readonly Channel<long> retractions = Channel.CreateUnbounded<long>();

    public HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<NotificationDto>("ReceiveNotification", n => notifications.Writer.TryWrite(n));
        connection.On<int>("UnreadCountChanged", c => unreadCounts.Writer.TryWrite(c));
        connection.On<long[]>("NotificationsRead", ids => reads.Writer.TryWrite(ids));
        connection.On<AllReadPayload>("AllRead", p => allReads.Writer.TryWrite(p));
        connection.On<long>("NotificationRetracted", id => retractions.Writer.TryWrite(id));
    }

    public HubConnection Connection { get; }

    /// <summary>A connection to the hub of the service at <paramref name="baseUri"/>; the token is asked for on every (re)connect.</summary>
    public static IHubConnectionBuilder Builder(Uri baseUri, Func<string?> token) =>
        new HubConnectionBuilder().WithUrl(new Uri(baseUri, "hubs/notifications"), o => o.AccessTokenProvider = () => Task.FromResult(token()));

    public static async Task<HubClient> ConnectAsync(IHubConnectionBuilder builder)
    {
        var client = new HubClient(builder.Build());
        await client.StartAsync();
        return client;
    }

    public Task StartAsync() => Connection.StartAsync().WithTimeout(what: "the hub connection to start");

    /// <summary>
    /// Returns once the hub has put this connection in its roles' and groups' SignalR groups. The server answers the
    /// handshake before it runs the hub's OnConnectedAsync (which reads the memberships), and that before the first
    /// invocation, so a role or group send made right after <see cref="StartAsync"/> may otherwise miss the push.
    /// </summary>
    public Task InGroupsAsync() => InvokeAsync<int>("GetUnreadCount");

    public Task StopAsync() => Connection.StopAsync().WithTimeout(what: "the hub connection to stop");

    public Task<NotificationDto> NextNotificationAsync(TimeSpan? timeout = null) => NextAsync(notifications, "ReceiveNotification", timeout);

    public Task<int> NextUnreadCountAsync() => NextAsync(unreadCounts, "UnreadCountChanged");

    public Task<long[]> NextReadAsync() => NextAsync(reads, "NotificationsRead");

    public Task<AllReadPayload> NextAllReadAsync() => NextAsync(allReads, "AllRead");

    public Task<long> NextRetractionAsync() => NextAsync(retractions, "NotificationRetracted");

    // The read is cancelled on timeout, so a timed-out wait does not silently swallow the next message.
    private static async Task<T> NextAsync<T>(Channel<T> channel, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Timeouts.Default;
        using var cts = new CancellationTokenSource(limit);
        try
        {
            return await channel.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"Timed out after {limit.TotalSeconds:0.#} s waiting for {what}.");
        }
    }

    /// <summary>Reads pushes until the one with <paramref name="id"/>; returns those seen before it.</summary>
    public async Task<List<NotificationDto>> ReceiveUntilAsync(long id)
    {
        var before = new List<NotificationDto>();
        while (true)
        {
            var next = await NextNotificationAsync();
            if (next.Id == id)
            {
                return before;
            }

            before.Add(next);
        }
    }

    public bool HasPendingNotification => notifications.Reader.TryPeek(out _);

    public bool HasPendingRetraction => retractions.Reader.TryPeek(out _);

    public Task<T> InvokeAsync<T>(string method, params object?[] args) =>
        Connection.InvokeCoreAsync<T>(method, args).WithTimeout(what: $"hub method {method}");

    public Task InvokeAsync(string method, params object?[] args) =>
        Connection.InvokeCoreAsync(method, args).WithTimeout(what: $"hub method {method}");

    public Task<SyncPage> SyncAsync(long afterId, int limit = 1000) => InvokeAsync<SyncPage>("Sync", afterId, limit);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Connection.DisposeAsync().AsTask().WaitAsync(Timeouts.Default);
        }
        catch (TimeoutException)
        {
        }
    }
}
