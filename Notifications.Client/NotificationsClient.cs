using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Notifications.Client;

/// <summary>
/// .NET client of the notification service's hub <c>/hubs/notifications</c>: typed events, a complete inbox
/// (catch-up <c>Sync</c> on every (re)connect, de-duplicated by id) and reconnects that fetch a fresh token.
/// </summary>
/// <remarks>
/// Events are <c>Func&lt;T, Task&gt;</c> handlers. They run one at a time, in arrival order, on an SDK-owned
/// dispatcher (never on SignalR's receive loop), so a handler may await hub calls such as <see cref="AckAsync(long[])"/>.
/// A handler that throws is logged and skipped; the event still counts as delivered.
/// </remarks>
public sealed partial class NotificationsClient : IAsyncDisposable
{
    private readonly NotificationsClientOptions _options;
    private readonly HubConnection _connection;
    private readonly DeliveryTracker _tracker;
    private readonly EventPump _pump;
    private readonly ReconnectSchedule _schedule;
    private readonly ILogger _logger;

    // Serialises Start/Stop/Dispose; one sync at a time so pages of two syncs never interleave.
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private readonly SemaphoreSlim _syncGate = new(1, 1);

    // Restart loops and catch-ups started from SignalR callbacks; Stop waits for them.
    private readonly Lock _backgroundLock = new();
    private readonly HashSet<Task> _background = [];

    // Cancelled by Stop/Dispose. Replaced (not disposed) on Start: a callback may still hold the old one.
    private CancellationTokenSource _lifetime = new();

    // What the app's token provider is given while StartAsync runs: the caller's token linked with the lifetime, so a
    // provider that hangs cannot keep StartAsync from being cancelled. Default (none) otherwise: reconnects get the
    // lifetime's. A token, not its source, so a provider call never touches a source StartAsync has disposed.
    private readonly Lock _startTokenLock = new();
    private CancellationToken _startToken;

    private volatile bool _running;
    private int _state;
    private int _restartPending;
    private int _disposed;

    /// <summary>The largest <c>Sync</c> page the server returns (its limit for the hub's <c>Sync(afterId, limit)</c>).</summary>
    public const int MaxSyncPageSize = 1000;

    public NotificationsClient(NotificationsClientOptions options)
        : this(options, TimeProvider.System)
    {
    }

    /// <param name="options">See <see cref="NotificationsClientOptions"/>.</param>
    /// <param name="clock">Measures the reorder window (tests move it by hand).</param>
    internal NotificationsClient(NotificationsClientOptions options, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.ServerUrl);
        ArgumentNullException.ThrowIfNull(options.AccessTokenProvider);
        if (!options.ServerUrl.IsAbsoluteUri)
        {
            throw new ArgumentException("ServerUrl must be absolute.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.InitialCursor, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.SyncPageSize, nameof(options));

        // The hub refuses a larger Sync page: a client built with one could never catch up, and would retry forever.
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.SyncPageSize, MaxSyncPageSize, nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.DedupCapacity, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.ReorderWindow, TimeSpan.Zero, nameof(options));

        _options = options;
        _logger = options.LoggerFactory?.CreateLogger<NotificationsClient>() ?? NullLogger<NotificationsClient>.Instance;
        _schedule = new ReconnectSchedule(options.ReconnectDelays);
        _tracker = new DeliveryTracker(options.InitialCursor, options.DedupCapacity, options.ReorderWindow, clock);
        _pump = new EventPump(_logger);
        _connection = BuildConnection(options);
        RegisterHubHandlers();
    }

    /// <summary>A notification not raised before (live push or catch-up), in arrival order. Not raised for retracted ids.</summary>
    public event Func<NotificationMessage, Task>? NotificationReceived;

    /// <summary>Server push after the user's own read state changed (read, read-all, archive). Sends do not push it.</summary>
    public event Func<int, Task>? UnreadCountChanged;

    /// <summary>These ids were marked read (by any of the user's connections).</summary>
    public event Func<IReadOnlyList<long>, Task>? NotificationsRead;

    /// <summary>Everything with id ≤ the given id was marked read.</summary>
    public event Func<long, Task>? AllRead;

    /// <summary>The notification was retracted by its sender or an admin; drop it. Raised once per id.</summary>
    public event Func<long, Task>? Retracted;

    /// <summary>
    /// A catch-up completed: on <see cref="StartAsync"/>, after every reconnect, and after <see cref="SyncAsync"/>. Raised
    /// after the <see cref="NotificationReceived"/> events of everything it fetched, so the inbox is complete up to here.
    /// Read changes made while this client was away (another device's read-all, an archive) are not pushed again: this
    /// is the moment to re-fetch the unread count (<see cref="GetUnreadCountAsync"/>) and then apply live changes.
    /// (<see cref="ConnectionStateChanged"/> comes before the catch-up; a handler here that calls
    /// <see cref="SyncAsync"/> starts another catch-up, and so another of these.)
    /// </summary>
    public event Func<SyncInfo, Task>? Synced;

    /// <summary>The SDK's connection state changed (see <see cref="NotificationsConnectionState"/>).</summary>
    public event Func<NotificationsConnectionState, Task>? ConnectionStateChanged;

    /// <summary>
    /// Highest notification id delivered (its <see cref="NotificationReceived"/> handlers have completed) or confirmed
    /// by a sync page. A live push that overtakes a running catch-up moves it only once that catch-up completed, so
    /// it never passes a notification still to be synced. A live push may still overtake another on the wire (sends
    /// commit concurrently): persist <see cref="ResumeCursor"/>, not this.
    /// </summary>
    public long Cursor => _tracker.Cursor;

    /// <summary>
    /// What to persist and pass back as <see cref="NotificationsClientOptions.InitialCursor"/> after a restart: where a
    /// catch-up begun now would start, that is <see cref="Cursor"/> as it was
    /// <see cref="NotificationsClientOptions.ReorderWindow"/> ago when live pushes moved it since. A restart from it may
    /// raise those notifications once more; none is skipped.
    /// </summary>
    public long ResumeCursor => _tracker.ResumeCursor;

    public NotificationsConnectionState State => (NotificationsConnectionState)Volatile.Read(ref _state);

    /// <summary>SignalR connection id of the current connection, if connected.</summary>
    public string? ConnectionId => _connection.ConnectionId;

    /// <summary>
    /// Connects, then syncs everything after <see cref="Cursor"/> before returning (raising <see cref="NotificationReceived"/>
    /// for each, then <see cref="Synced"/>). If the connection or that first sync fails, or
    /// <paramref name="cancellationToken"/> is cancelled first, the connection is stopped and the error
    /// (<see cref="OperationCanceledException"/> when cancelled) is thrown; the client may be started again.
    /// Calling it while started does nothing.
    /// </summary>
    /// <remarks>Called from inside an event handler, the first sync runs in the background instead of being awaited.</remarks>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_running)
            {
                return;
            }

            _lifetime = new CancellationTokenSource();

            // A restart scheduled in an earlier run may have been cancelled before it cleared this: a close in this run
            // must schedule its own.
            Volatile.Write(ref _restartPending, 0);
            _running = true;
            SetState(NotificationsConnectionState.Connecting);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
            SetStartToken(linked.Token);
            try
            {
                await _connection.StartAsync(linked.Token);
                SetState(NotificationsConnectionState.Connected);
                Log.Connected(_logger, Cursor);
                await SyncOrScheduleAsync(reconnected: false, linked.Token);
            }
            catch (Exception error)
            {
                // All or nothing: a connection whose first sync failed would look healthy while the inbox is stale.
                _running = false;
                await _lifetime.CancelAsync();
                try
                {
                    await _connection.StopAsync(CancellationToken.None);
                }
                catch (Exception stopError)
                {
                    Log.BackgroundFailed(_logger, stopError, "stop after a failed start");
                }

                SetState(NotificationsConnectionState.Disconnected);

                // SignalR may wrap what the token provider threw when it honoured the caller's token (or fail the
                // negotiate with it): the caller asked to cancel, and that is what it gets.
                if (cancellationToken.IsCancellationRequested && error is not OperationCanceledException)
                {
                    throw new OperationCanceledException("StartAsync was cancelled.", error, cancellationToken);
                }

                throw;
            }
            finally
            {
                SetStartToken(default);
            }
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Disconnects and stops all reconnect attempts. <see cref="StartAsync"/> may be called again later; it then resumes
    /// like a reconnect after a drop at this moment.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        // Cancel before queueing on the lock so an in-flight StartAsync sync or restart attempt ends promptly.
        _running = false;

        // A stop is a drop the app asked for, and pushes still on the wire are lost with it just the same: the next
        // start's catch-up resumes from the reorder window before now (however much later it comes), and live pushes
        // that land before it completes do not move the cursor past what was sent while stopped.
        _tracker.MarkDisconnected();
        await _lifetime.CancelAsync();

        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            _running = false;
            await _lifetime.CancelAsync();
            await WaitForBackgroundWorkAsync();
            await _connection.StopAsync(cancellationToken);
            SetState(NotificationsConnectionState.Disconnected);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Stops, then releases the connection. Events queued before disposal are still raised.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        await _connection.DisposeAsync();
        await _pump.DisposeAsync();
    }

    private HubConnection BuildConnection(NotificationsClientOptions options)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(HubUrl(options.ServerUrl), http =>
            {
                // Invoked by SignalR on every negotiate/connect, including automatic reconnects: always a fresh token.
                http.AccessTokenProvider = async () => await options.AccessTokenProvider(ProviderToken());
                options.ConfigureHttpConnection?.Invoke(http);
            })
            .WithAutomaticReconnect(_schedule);

        if (options.UseMessagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = MessagePackPayloads.SerializerOptions);
        }

        if (options.LoggerFactory is { } loggerFactory)
        {
            builder.Services.AddSingleton(loggerFactory);
        }

        return builder.Build();
    }

    private void SetStartToken(CancellationToken token)
    {
        lock (_startTokenLock)
        {
            _startToken = token;
        }
    }

    private CancellationToken ProviderToken()
    {
        lock (_startTokenLock)
        {
            return _startToken.CanBeCanceled ? _startToken : _lifetime.Token;
        }
    }

    internal static Uri HubUrl(Uri serverUrl)
    {
        // Keep a path base ("https://host/notify" -> "https://host/notify/hubs/notifications"); drop query and fragment.
        var builder = new UriBuilder(serverUrl) { Query = string.Empty, Fragment = string.Empty };
        builder.Path = builder.Path.TrimEnd('/') + "/" + HubMethodNames.HubPath;
        return builder.Uri;
    }

    private void SetState(NotificationsConnectionState state)
    {
        if (Interlocked.Exchange(ref _state, (int)state) != (int)state)
        {
            _pump.Post(() => RaiseAsync(ConnectionStateChanged, state, nameof(ConnectionStateChanged)));
        }
    }

    private async Task RaiseAsync<T>(Func<T, Task>? handlers, T argument, string eventName)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Func<T, Task>>())
        {
            try
            {
                await handler(argument);
            }
            catch (Exception ex)
            {
                // One faulty subscriber must not stop delivery to the others or kill the dispatcher.
                Log.HandlerFailed(_logger, ex, eventName);
            }
        }
    }
}
