using Microsoft.AspNetCore.SignalR.Client;

namespace Notifications.Client;

// Client -> server hub calls. They need a live connection: while (re)connecting SignalR throws
// InvalidOperationException; a server refusal (e.g. "rate limited", restricted group) is a HubException.
public sealed partial class NotificationsClient
{
    /// <summary>Delivery receipt for these ids (idempotent; ids the caller cannot see are ignored by the server).</summary>
    public Task AckAsync(params long[] ids) => AckAsync(ids, CancellationToken.None);

    /// <inheritdoc cref="AckAsync(long[])"/>
    public Task AckAsync(IEnumerable<long> ids, CancellationToken cancellationToken = default) =>
        InvokeWithIdsAsync(HubMethodNames.Ack, ids, cancellationToken);

    /// <summary>Marks these ids read; the server pushes <see cref="NotificationsRead"/> and <see cref="UnreadCountChanged"/>.</summary>
    public Task MarkReadAsync(params long[] ids) => MarkReadAsync(ids, CancellationToken.None);

    /// <inheritdoc cref="MarkReadAsync(long[])"/>
    public Task MarkReadAsync(IEnumerable<long> ids, CancellationToken cancellationToken = default) =>
        InvokeWithIdsAsync(HubMethodNames.MarkRead, ids, cancellationToken);

    /// <summary>Marks these ids seen (no push follows).</summary>
    public Task MarkSeenAsync(params long[] ids) => MarkSeenAsync(ids, CancellationToken.None);

    /// <inheritdoc cref="MarkSeenAsync(long[])"/>
    public Task MarkSeenAsync(IEnumerable<long> ids, CancellationToken cancellationToken = default) =>
        InvokeWithIdsAsync(HubMethodNames.MarkSeen, ids, cancellationToken);

    /// <summary>Marks everything read; the server pushes <see cref="AllRead"/> and <see cref="UnreadCountChanged"/>.</summary>
    public Task MarkAllReadAsync(CancellationToken cancellationToken = default) =>
        _connection.InvokeAsync(HubMethodNames.MarkAllRead, cancellationToken);

    /// <summary>Joins an open group (HubException for restricted or unknown groups).</summary>
    public Task<SubscribeResult> SubscribeAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        return _connection.InvokeAsync<SubscribeResult>(HubMethodNames.Subscribe, group, cancellationToken);
    }

    public Task UnsubscribeAsync(string group, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        return _connection.InvokeAsync(HubMethodNames.Unsubscribe, group, cancellationToken);
    }

    public Task<int> GetUnreadCountAsync(CancellationToken cancellationToken = default) =>
        _connection.InvokeAsync<int>(HubMethodNames.GetUnreadCount, cancellationToken);

    /// <summary>
    /// Manual catch-up: fetches everything after <see cref="Cursor"/> page by page and raises
    /// <see cref="NotificationReceived"/> for ids not raised before, then <see cref="Synced"/>; returns when all of them
    /// were raised.
    /// </summary>
    /// <remarks>Called from inside an event handler, it is scheduled in the background and returns at once
    /// (waiting there would deadlock: the handler occupies the dispatcher the sync needs).</remarks>
    public Task SyncAsync(CancellationToken cancellationToken = default) => SyncOrScheduleAsync(reconnected: false, cancellationToken);

    private Task InvokeWithIdsAsync(string method, IEnumerable<long> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var array = ids.Distinct().ToArray();

        // Nothing to say: skip the round trip (each invocation counts against the per-user hub rate limit).
        return array.Length == 0
            ? Task.CompletedTask
            : _connection.InvokeAsync(method, array, cancellationToken);
    }
}
