using Microsoft.AspNetCore.SignalR.Client;

namespace Notifications.Client;

// Delivery: live pushes, catch-up sync, and getting back after a drop.
public sealed partial class NotificationsClient
{
    private void RegisterHubHandlers()
    {
        // Handlers only queue work: SignalR awaits them on its receive loop, which must stay free (see EventPump).
        _connection.On<NotificationMessage>(HubMethodNames.ReceiveNotification,
            message => _pump.Post(() => DeliverAsync(message, live: true)));
        _connection.On<int>(HubMethodNames.UnreadCountChanged,
            count => _pump.Post(() => RaiseAsync(UnreadCountChanged, count, nameof(UnreadCountChanged))));
        _connection.On<long[]>(HubMethodNames.NotificationsRead,
            ids => _pump.Post(() => RaiseAsync<IReadOnlyList<long>>(NotificationsRead, ids, nameof(NotificationsRead))));
        _connection.On<AllReadPayload>(HubMethodNames.AllRead,
            payload => _pump.Post(() => RaiseAsync(AllRead, payload.UpToId, nameof(AllRead))));
        _connection.On<long>(HubMethodNames.NotificationRetracted,
            id => _pump.Post(() => RetractAsync(id)));

        _connection.Reconnecting += OnReconnecting;
        _connection.Reconnected += OnReconnected;
        _connection.Closed += OnClosed;
    }

    // Runs on the pump only, so the claim and the handlers of one id never race with another delivery.
    // Returns whether it was raised (false for a duplicate or a retracted id).
    private async Task<bool> DeliverAsync(NotificationMessage message, bool live)
    {
        if (!_tracker.TryClaim(message.Id, live))
        {
            Log.Duplicate(_logger, message.Id);
            return false;
        }

        await RaiseAsync(NotificationReceived, message, nameof(NotificationReceived));

        // After the handlers: a persisted Cursor then never covers a notification the app did not process.
        _tracker.Advance(message.Id, live);
        return true;
    }

    private async Task RetractAsync(long id)
    {
        if (_tracker.Retract(id))
        {
            await RaiseAsync(Retracted, id, nameof(Retracted));
        }
    }

    private async Task<int> DeliverPageAsync(SyncPage page)
    {
        var raised = 0;
        foreach (var message in page.Items)
        {
            if (await DeliverAsync(message, live: false))
            {
                raised++;
            }
        }

        _tracker.Advance(page.Cursor, live: false);
        return raised;
    }

    // 1 while Synced handlers run: a sync asked for meanwhile raises no Synced of its own, which would call them again.
    // A field, not an AsyncLocal: work a handler starts (a timer, a loop) must not carry it past the handler.
    private int _raisingSynced;

    private Task SyncOrScheduleAsync(bool reconnected, CancellationToken cancellationToken)
    {
        var raiseSynced = Volatile.Read(ref _raisingSynced) == 0;
        if (!EventPump.IsInsidePump)
        {
            return SyncCoreAsync(reconnected, raiseSynced, cancellationToken);
        }

        StartBackground(token => CatchUpAsync(reconnected, token, raiseSynced), "sync requested from an event handler");
        return Task.CompletedTask;
    }

    private async Task SyncCoreAsync(bool reconnected, bool raiseSynced, CancellationToken cancellationToken)
    {
        await _syncGate.WaitAsync(cancellationToken);
        var start = _tracker.BeginSync();
        var completed = false;
        SyncInfo info;
        try
        {
            var afterId = start.AfterId;
            var delivered = 0;
            while (true)
            {
                var page = await _connection.InvokeAsync<SyncPage>(
                    HubMethodNames.Sync, afterId, _options.SyncPageSize, cancellationToken);

                // Wait until the page was raised before fetching the next: a large backlog then never piles up in memory.
                // The pump ran the page before RunAsync returns, so reading its count here is safe.
                var raised = 0;
                await _pump.RunAsync(async () => raised = await DeliverPageAsync(page), cancellationToken);
                delivered += raised;

                if (!page.HasMore)
                {
                    break;
                }

                if (page.Cursor <= afterId)
                {
                    // A server that says "more" without moving on would loop us forever.
                    Log.SyncStalled(_logger, afterId);
                    break;
                }

                afterId = page.Cursor;
            }

            _tracker.EndSync(start);
            completed = true;
            info = new SyncInfo(reconnected, delivered, Cursor);
            Log.Synced(_logger, start.AfterId, delivered, Cursor);
        }
        finally
        {
            if (!completed)
            {
                _tracker.AbortSync();
            }

            _syncGate.Release();
        }

        // On the pump, behind the NotificationReceived events of every page: an app that re-fetches its unread count
        // here has counted all the catch-up raised (live pushes queued meanwhile come before or after, each once).
        // Awaited, so StartAsync returns after its handlers, as after those of the notifications.
        if (raiseSynced)
        {
            await _pump.RunAsync(
                async () =>
                {
                    Volatile.Write(ref _raisingSynced, 1);
                    try
                    {
                        await RaiseAsync(Synced, info, nameof(Synced));
                    }
                    finally
                    {
                        Volatile.Write(ref _raisingSynced, 0);
                    }
                },
                cancellationToken);
        }
    }

    private Task OnReconnecting(Exception? error)
    {
        _tracker.MarkDisconnected();
        Log.Reconnecting(_logger, error?.GetType().Name);
        SetState(NotificationsConnectionState.Reconnecting);
        return Task.CompletedTask;
    }

    private Task OnReconnected(string? connectionId)
    {
        SetState(NotificationsConnectionState.Connected);

        // Pushes sent while we were away are lost on the wire; Sync fetches them from the store.
        // In the background: SignalR raises this event from its reconnect loop, which should not wait for us.
        StartBackground(token => CatchUpAsync(reconnected: true, token), "reconnected");
        return Task.CompletedTask;
    }

    private Task OnClosed(Exception? error)
    {
        if (!_running || Volatile.Read(ref _disposed) != 0)
        {
            SetState(NotificationsConnectionState.Disconnected);
            return Task.CompletedTask;
        }

        // Automatic reconnect does not cover a close the server asked for (CloseMessage without allowReconnect,
        // e.g. the token expired or the connection was aborted), nor a reconnect policy that gave up: SignalR
        // raises Closed instead. The app did not stop us, so start again; StartAsync fetches a fresh token.
        _tracker.MarkDisconnected();
        Log.ClosedByServer(_logger, error?.GetType().Name);
        SetState(NotificationsConnectionState.Reconnecting);
        if (Interlocked.Exchange(ref _restartPending, 1) == 0)
        {
            StartBackground(RestartAsync, "closed");
        }

        return Task.CompletedTask;
    }

    private async Task RestartAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; !cancellationToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await Task.Delay(_schedule.Delay(attempt), cancellationToken);

                // Cleared before starting: once started, a new Closed must be able to schedule the next restart.
                Volatile.Write(ref _restartPending, 0);
                await _connection.StartAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Volatile.Write(ref _restartPending, 0);
                return;
            }
            catch (Exception ex)
            {
                Log.RestartFailed(_logger, ex, attempt + 1);
                Volatile.Write(ref _restartPending, 1);
                continue;
            }

            SetState(NotificationsConnectionState.Connected);
            Log.Connected(_logger, Cursor);
            await CatchUpAsync(reconnected: true, cancellationToken);
            return;
        }
    }

    // Catch-up after a reconnect: retried while the connection stays up; after another drop the next
    // Reconnected/restart runs its own catch-up, which resumes where this one stopped.
    private async Task CatchUpAsync(bool reconnected, CancellationToken cancellationToken, bool raiseSynced = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await SyncCoreAsync(reconnected, raiseSynced, cancellationToken);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (_connection.State != HubConnectionState.Connected)
                {
                    Log.SyncAbandoned(_logger, ex.GetType().Name);
                    return;
                }

                Log.SyncFailed(_logger, ex, attempt);
            }

            try
            {
                await Task.Delay(_schedule.Delay(attempt), cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private void StartBackground(Func<CancellationToken, Task> work, string reason)
    {
        var token = _lifetime.Token;
        if (token.IsCancellationRequested)
        {
            return;
        }

        Log.Background(_logger, reason);
        var task = Task.Run(async () =>
        {
            // Started from a handler, this flow would otherwise count as "inside the pump" and never wait for it.
            EventPump.LeavePumpContext();
            try
            {
                await work(token);
            }
            catch (Exception ex)
            {
                // Never let it fault: StopAsync awaits these tasks. After a stop, failures are just the teardown.
                if (!token.IsCancellationRequested)
                {
                    Log.BackgroundFailed(_logger, ex, reason);
                }
            }
        }, CancellationToken.None);

        lock (_backgroundLock)
        {
            _background.Add(task);
        }

        task.ContinueWith(
            completed =>
            {
                lock (_backgroundLock)
                {
                    _background.Remove(completed);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private async Task WaitForBackgroundWorkAsync()
    {
        Task[] pending;
        lock (_backgroundLock)
        {
            pending = [.. _background];
        }

        // Every background await observes the (now cancelled) lifetime token, so this ends promptly.
        await Task.WhenAll(pending);
    }
}
