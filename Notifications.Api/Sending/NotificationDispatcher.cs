using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Notifications.Api.Groups;
using Notifications.Api.Hardening;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>
/// Pushes committed outbox entries to clients and deletes them. Fresh sends arrive in memory from this instance;
/// a sweep takes over entries whose lease expired (their instance died between commit and push). A push may
/// happen twice in that case; clients de-duplicate by id.
/// </summary>
public sealed class NotificationDispatcher(
    IHubContext<NotificationHub> hub,
    HubLifetimeManager<NotificationHub> lifetimeManager,
    IServiceScopeFactory scopes,
    InstanceIdentity instance,
    IOptions<OutboxOptions> options,
    NotificationsMetrics metrics,
    SendGate gate,
    TimeProvider time,
    ILogger<NotificationDispatcher> logger) : BackgroundService
{
    private const int BatchSize = 256;

    // Both of the service's lifetime managers (AddNotificationsBackplane) write to an audience of several parts once
    // per connection; SignalR's own would write once per part.
    private readonly IAudienceLifetimeManager audience = lifetimeManager as IAudienceLifetimeManager
        ?? throw new InvalidOperationException($"{lifetimeManager.GetType().Name} cannot push to an audience of several parts once per connection.");

    private readonly Channel<PushWork> fresh = Channel.CreateUnbounded<PushWork>(new UnboundedChannelOptions { SingleReader = true });

    public void Enqueue(PushWork work)
    {
        if (!options.Value.FaultHoldPushes)
        {
            fresh.Writer.TryWrite(work);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PushFreshAsync(stoppingToken), SweepAsync(stoppingToken));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);

        // The writer holds pushed entries for a while to delete them with the next sends; none come after this.
        if (gate.DeletesPushedEntries)
        {
            try
            {
                await gate.DeletePushedNowAsync().WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Out of shutdown time: the entries stay, and are pushed again once their lease runs out.
            }
        }
    }

    private async Task PushFreshAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PushWork>(BatchSize);
        try
        {
            while (await fresh.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < BatchSize && fresh.Reader.TryRead(out var work))
                {
                    batch.Add(work);
                }

                await PushAndCompleteAsync(batch, stoppingToken);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.SweepIntervalSeconds), time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (options.Value.FaultHoldPushes)
                {
                    continue;
                }

                try
                {
                    var claimed = await ClaimExpiredAsync(stoppingToken);
                    await PushAndCompleteAsync(claimed, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "Outbox sweep failed; retrying at the next interval");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Takes over entries whose lease ran out; the conditional update lets only one instance win each.</summary>
    private async Task<List<PushWork>> ClaimExpiredAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var now = time.GetUtcNow().UtcDateTime;
        var candidates = await db.Outbox.AsNoTracking().Where(o => o.LeaseUntil < now).OrderBy(o => o.Id).Select(o => o.Id).Take(BatchSize).ToListAsync(cancellationToken);
        if (candidates.Count == 0)
        {
            return [];
        }

        var claim = instance.NextClaim();
        var leaseUntil = now.AddSeconds(options.Value.LeaseSeconds);
        await db.Outbox.Where(o => candidates.Contains(o.Id) && o.LeaseUntil < now)
            .ExecuteUpdateAsync(s => s.SetProperty(o => o.LeaseUntil, leaseUntil).SetProperty(o => o.LeasedBy, claim), cancellationToken);
        // In entry order, so a send is pushed before a retraction of it that was committed later.
        var entries = await db.Outbox.AsNoTracking().Where(o => o.LeasedBy == claim).OrderBy(o => o.Id).ToListAsync(cancellationToken);
        var ids = entries.Select(e => e.NotificationId).Distinct().ToArray();
        var notifications = await db.Notifications.AsNoTracking().Include(n => n.Audience).Where(n => ids.Contains(n.Id)).ToDictionaryAsync(n => n.Id, cancellationToken);
        logger.LogInformation("Took over {Count} outbox entries whose lease expired", entries.Count);

        // A send that was retracted or expired meanwhile is no longer owed to anyone: complete it without a push.
        var stale = entries.Where(e => e.Kind == OutboxKind.Send && !IsLive(notifications.GetValueOrDefault(e.NotificationId), now)).Select(e => e.Id).ToArray();
        if (stale.Length > 0)
        {
            await db.Outbox.Where(o => stale.Contains(o.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        var work = new List<PushWork>();
        foreach (var entry in entries.Where(e => !stale.Contains(e.Id) && notifications.ContainsKey(e.NotificationId)))
        {
            // Written late, maybe long after the send: members who joined its groups since are left out where each
            // connection is written to, as for every push (see PushAsync).
            var notification = notifications[entry.NotificationId];
            work.Add(new PushWork(entry.Id, entry.Kind, NotificationDto.From(notification), PushTargets.Of(notification)));
        }

        return work;
    }

    private static bool IsLive(Notification? notification, DateTime now) =>
        notification is not null && Domain.Visibility.IsLive(notification.RetractedAt, notification.ExpiresAt, now);

    private async Task PushAndCompleteAsync(List<PushWork> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        // Pushes to users, roles and groups are started, in order, before any is awaited: each can wait on the wire (with
        // Redis, a publish's round trip; without, a lagging connection's grace), and awaiting each before starting the
        // next held them to one per round trip. Order holds, as each connection's writes and each Redis channel's
        // publishes are queued in the order they start. Pushes to everyone still go one write at a time, after what
        // was started before them: that wait is what lets a burst of broadcasts share a write.
        var started = new List<Task>();
        for (var i = 0; i < batch.Count;)
        {
            var run = EveryoneRun.Length(batch, i);
            if (run == 0)
            {
                started.Add(PushOneAsync(batch[i++]));
                continue;
            }

            await Task.WhenAll(started);
            started.Clear();
            if (run > 1)
            {
                await PushToEveryoneAsync(batch, i, run);
            }
            else
            {
                await PushOneAsync(batch[i]);
            }

            i += run;
        }

        await Task.WhenAll(started);

        var ids = batch.Select(w => w.OutboxId).ToArray();
        if (gate.DeletesPushedEntries)
        {
            gate.CompletePushed(ids);
            return;
        }

        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
            await db.Outbox.Where(o => ids.Contains(o.Id)).ExecuteDeleteAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The entries stay; after their lease a sweep pushes them again (a rare, bounded duplicate).
            logger.LogWarning(ex, "Could not complete {Count} outbox entries", batch.Count);
        }
    }

    private async Task PushOneAsync(PushWork work)
    {
        try
        {
            await PushAsync(work);
            metrics.Pushed(work.Kind, work.Notification.CreatedAt, time.GetUtcNow().UtcDateTime);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The inbox has it; clients catch up with Sync. Do not hold the queue for one failed push.
            logger.LogWarning(ex, "Push of notification {NotificationId} failed", work.Notification.Id);
        }
    }

    /// <summary>
    /// Consecutive pushes to everyone go out as one <see cref="PushBatch"/>: every connection gets them, in order, in one
    /// write, so a burst of broadcasts costs each socket one send and its reader one wake-up.
    /// </summary>
    private async Task PushToEveryoneAsync(List<PushWork> batch, int start, int count)
    {
        var pushes = new PushBatch();
        for (var i = start; i < start + count; i++)
        {
            var (method, argument) = ClientCallOf(batch[i]);
            pushes.Add(method, argument);
        }

        try
        {
            await hub.Clients.All.SendCoreAsync(PushBatch.Target, [pushes]);
            var now = time.GetUtcNow().UtcDateTime;
            for (var i = start; i < start + count; i++)
            {
                metrics.Pushed(batch[i].Kind, batch[i].Notification.CreatedAt, now);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Push of {Count} notifications to everyone (from {NotificationId}) failed", count, batch[start].Notification.Id);
        }
    }

    private Task PushAsync(PushWork work)
    {
        var targets = work.Targets;
        if (targets.Everyone)
        {
            return Send(hub.Clients.All, work);
        }

        var groups = targets.HubGroupNames();
        if (groups.Length == 0)
        {
            return targets.Users.Length == 0 ? Task.CompletedTask : Send(hub.Clients.Users(targets.Users), work);
        }

        // Parts that may overlap (a listed user in a listed role, a member of two listed groups): one write per connection.
        // A single role or group goes this way too: with Redis, SignalR's own channel for a group writes one message at
        // a time and awaits each, so a member that stopped reading would hold up the group's later pushes on its
        // instance; the service's audience channel hands such a member its pushes without waiting (PushWriter).
        // Late joiners are left out where each connection is written to (PushWork.GroupsJoinedBy).
        var (method, argument) = ClientCallOf(work);
        return audience.SendToAudienceAsync(targets.Users, groups, work.GroupsJoinedBy, method, [argument]);
    }

    private static Task Send(IClientProxy clients, PushWork work)
    {
        var (method, argument) = ClientCallOf(work);
        return clients.SendCoreAsync(method, [argument]);
    }

    /// <summary>The <see cref="INotificationClient"/> method a push calls, and its argument.</summary>
    private static (string Method, object Argument) ClientCallOf(PushWork work) => work.Kind == OutboxKind.Retract
        ? (nameof(INotificationClient.NotificationRetracted), work.Notification.Id)
        : (nameof(INotificationClient.ReceiveNotification), work.Notification);
}
