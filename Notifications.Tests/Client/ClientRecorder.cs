using System.Threading.Channels;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// A real <see cref="NotificationsClient"/> whose every event lands in a channel (bounded waits) and whose
/// deliveries are also kept in order, so a test can say "each id exactly once". Disposal is bounded too.
/// </summary>
public sealed class ClientRecorder : IAsyncDisposable
{
    private readonly Channel<NotificationMessage> notifications = Channel.CreateUnbounded<NotificationMessage>();
    private readonly Channel<int> unreadCounts = Channel.CreateUnbounded<int>();
    private readonly Channel<IReadOnlyList<long>> reads = Channel.CreateUnbounded<IReadOnlyList<long>>();
    private readonly Channel<long> allReads = Channel.CreateUnbounded<long>();
    private readonly Channel<long> retractions = Channel.CreateUnbounded<long>();
    private readonly Channel<NotificationsConnectionState> states = Channel.CreateUnbounded<NotificationsConnectionState>();
    private readonly Channel<SyncRecord> syncs = Channel.CreateUnbounded<SyncRecord>();
    private readonly List<long> deliveredIds = [];

    /// <param name="options">The client's options.</param>
    /// <param name="clock">Measures the client's reorder window; null = the real clock.</param>
    public ClientRecorder(NotificationsClientOptions options, TimeProvider? clock = null)
    {
        Client = new NotificationsClient(options, clock ?? TimeProvider.System);
        Client.NotificationReceived += n =>
        {
            lock (deliveredIds)
            {
                deliveredIds.Add(n.Id);
            }

            notifications.Writer.TryWrite(n);
            return Task.CompletedTask;
        };
        Client.UnreadCountChanged += c => Write(unreadCounts, c);
        Client.NotificationsRead += ids => Write(reads, ids);
        Client.AllRead += upTo => Write(allReads, upTo);
        Client.Retracted += id => Write(retractions, id);
        Client.ConnectionStateChanged += s => Write(states, s);

        // Handlers run one at a time in the SDK's order, so this is exactly what was raised before the Synced.
        Client.Synced += info => Write(syncs, new SyncRecord(info, DeliveredIds));
    }

    public NotificationsClient Client { get; }

    /// <summary>Every id raised by NotificationReceived so far, in the order raised (duplicates would show here).</summary>
    public IReadOnlyList<long> DeliveredIds
    {
        get
        {
            lock (deliveredIds)
            {
                return [.. deliveredIds];
            }
        }
    }

    /// <summary>Options for <paramref name="userId"/> with a plain token provider and quick reconnects.</summary>
    public static NotificationsClientOptions OptionsFor(Uri serverUrl, string userId, params string[] roles) =>
        new(serverUrl, _ => Task.FromResult(TestTokens.For(userId, roles)))
        {
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250)],
        };

    public static async Task<ClientRecorder> StartAsync(NotificationsClientOptions options)
    {
        var recorder = new ClientRecorder(options);
        try
        {
            await recorder.Client.StartAsync().WithTimeout(what: "the SDK client to start");
        }
        catch
        {
            await recorder.DisposeAsync();
            throw;
        }

        return recorder;
    }

    public Task<NotificationMessage> NextNotificationAsync() =>
        notifications.Reader.ReadAsync().AsTask().WithTimeout(what: "NotificationReceived");

    /// <summary>Reads deliveries until the one with <paramref name="id"/>; returns it and those raised before it.</summary>
    public async Task<List<NotificationMessage>> ReceiveThroughAsync(long id)
    {
        var received = new List<NotificationMessage>();
        while (received.Count == 0 || received[^1].Id != id)
        {
            received.Add(await NextNotificationAsync());
        }

        return received;
    }

    public bool HasPendingNotification => notifications.Reader.TryPeek(out _);

    /// <summary>The next Synced event, with the ids NotificationReceived had raised before it.</summary>
    public Task<SyncRecord> NextSyncAsync() => syncs.Reader.ReadAsync().AsTask().WithTimeout(what: "Synced");

    /// <summary>Reads Synced events until one of a reconnect comes.</summary>
    public async Task<SyncRecord> NextReconnectSyncAsync()
    {
        while (true)
        {
            var sync = await NextSyncAsync();
            if (sync.Info.Reconnected)
            {
                return sync;
            }
        }
    }

    public Task<int> NextUnreadCountAsync() => unreadCounts.Reader.ReadAsync().AsTask().WithTimeout(what: "UnreadCountChanged");

    public Task<IReadOnlyList<long>> NextReadAsync() => reads.Reader.ReadAsync().AsTask().WithTimeout(what: "NotificationsRead");

    public Task<long> NextAllReadAsync() => allReads.Reader.ReadAsync().AsTask().WithTimeout(what: "AllRead");

    public Task<long> NextRetractionAsync() => retractions.Reader.ReadAsync().AsTask().WithTimeout(what: "Retracted");

    public bool HasPendingRetraction => retractions.Reader.TryPeek(out _);

    /// <summary>Reads state changes until <paramref name="state"/> comes.</summary>
    public async Task WaitForStateAsync(NotificationsConnectionState state)
    {
        while (await states.Reader.ReadAsync().AsTask().WithTimeout(what: $"the client to be {state}") != state)
        {
        }
    }

    public async ValueTask DisposeAsync() =>
        await Client.DisposeAsync().AsTask().WithTimeout(what: "the SDK client to dispose");

    private static Task Write<T>(Channel<T> channel, T value)
    {
        channel.Writer.TryWrite(value);
        return Task.CompletedTask;
    }
}

/// <summary>A Synced event and the ids NotificationReceived raised before it (in order).</summary>
public sealed record SyncRecord(SyncInfo Info, IReadOnlyList<long> RaisedBefore);
