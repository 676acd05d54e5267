using System.Threading.Channels;
using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hubs;
using Notifications.Api.Inbox;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

/// <summary>
/// Pushes again, from the inbox, what this instance's connections may have missed while Redis or a link to it was down
/// (the windows come from the lifetime manager, see <see cref="IMissedPushes"/>), to this instance's connections only:
/// each instance makes up for its own. Clients that stayed connected so get the pushes live, without a Sync or a
/// reconnect; they drop by id the ones they had. Does nothing on a single instance (no Redis, no outage).
/// </summary>
public sealed class MissedPushReplayer(
    HubLifetimeManager<NotificationHub> lifetimeManager,
    IClusterBus bus,
    IServiceScopeFactory scopes,
    TimeProvider time,
    ILogger<MissedPushReplayer> logger) : BackgroundService
{
    /// <summary>
    /// Above this many notifications in one window, pushing them all to every connection here would be a flood (and a
    /// long one): the connections are closed instead, and their clients reconnect and Sync, which pages.
    /// </summary>
    public const int DefaultMaxPerWindow = 10_000;

    private const int PageSize = 256;

    // After Redis itself died, every instance asks about the same window several times (its own link, each instance's
    // notice of pushes it could not publish): the part already pushed is skipped.
    private const int RememberedWindows = 8;

    // A replay that fails (the store is down too) is tried again for about half a minute, then the connections are
    // closed so that their clients Sync once the store is back.
    private const int Attempts = 6;
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    private readonly Channel<MissedWindow> requested = Channel.CreateUnbounded<MissedWindow>(new UnboundedChannelOptions { SingleReader = true });
    private readonly List<MissedWindow> replayed = [];
    private int windowsHandled;

    /// <summary>See <see cref="DefaultMaxPerWindow"/> (tests lower it).</summary>
    internal int MaxPerWindow { get; init; } = DefaultMaxPerWindow;

    /// <summary>Windows handled so far, replayed or given up on (for tests).</summary>
    internal int WindowsHandled => Volatile.Read(ref windowsHandled);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (lifetimeManager is not IMissedPushes missed)
        {
            return;
        }

        // Only queued here: the lifetime manager awaits the handler in its repair and its channel's reading loop.
        missed.OnReplayRequested(window =>
        {
            requested.Writer.TryWrite(window);
            return Task.CompletedTask;
        });
        try
        {
            // One window at a time, so that each skips what the ones before it pushed.
            await foreach (var window in requested.Reader.ReadAllAsync(stoppingToken))
            {
                await ReplayAsync(missed, window, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Pushes what was sent in <paramref name="window"/> and not pushed again already to the connections here.</summary>
    internal async Task ReplayAsync(IMissedPushes missed, MissedWindow window, CancellationToken cancellationToken)
    {
        var parts = Uncovered(window, replayed);
        for (var attempt = 1; parts.Count > 0; attempt++)
        {
            try
            {
                var pushed = await ReplayPartsAsync(missed, parts, cancellationToken);
                if (pushed > 0)
                {
                    logger.LogInformation(
                        "Pushed {Count} notifications sent from {From:O} to {To:O} again to this instance's connections, which may have missed them while Redis was unreachable",
                        pushed, parts[0].From, parts[^1].To);
                }

                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (attempt == Attempts)
                {
                    logger.LogWarning(ex, "Could not push the notifications this instance's connections may have missed; closing them so that their clients reconnect and sync");
                    missed.ReconnectEveryoneHere();
                    break;
                }

                logger.LogWarning("Could not push the notifications this instance's connections may have missed ({Error}); trying again in {Delay}", ex.GetType().Name, RetryDelay);
                await Task.Delay(RetryDelay, time, cancellationToken);
            }
        }

        replayed.Add(window);
        if (replayed.Count > RememberedWindows)
        {
            replayed.RemoveAt(0);
        }

        Interlocked.Increment(ref windowsHandled);
    }

    /// <summary>The parts of <paramref name="window"/> that none of <paramref name="done"/> covers, in time order.</summary>
    internal static List<MissedWindow> Uncovered(MissedWindow window, IEnumerable<MissedWindow> done)
    {
        var parts = new List<MissedWindow> { window };
        foreach (var covered in done)
        {
            parts = [.. parts.SelectMany(part => Without(part, covered))];
        }

        return parts;

        // Bounds are shared with the covered window: a notification sent at that very tick is pushed twice at worst.
        static IEnumerable<MissedWindow> Without(MissedWindow part, MissedWindow covered)
        {
            if (covered.To < part.From || covered.From > part.To)
            {
                yield return part;
                yield break;
            }

            if (part.From < covered.From)
            {
                yield return new MissedWindow(part.From, covered.From);
            }

            if (covered.To < part.To)
            {
                yield return new MissedWindow(covered.To, part.To);
            }
        }
    }

    /// <summary>Returns how many notifications were pushed; none when there were too many (the connections are closed instead).</summary>
    private async Task<int> ReplayPartsAsync(IMissedPushes missed, List<MissedWindow> parts, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var now = time.GetUtcNow().UtcDateTime;
        var count = 0;
        foreach (var part in parts)
        {
            count += await LiveSentIn(db, part, now).CountAsync(cancellationToken);
        }

        if (count > MaxPerWindow)
        {
            logger.LogWarning(
                "{Count} notifications were sent while this instance's connections may have missed their pushes, more than the {Max} a replay pushes: closing the connections so that their clients reconnect and sync",
                count, MaxPerWindow);
            missed.ReconnectEveryoneHere();
            return 0;
        }

        var pushed = 0;
        var resynced = false;
        foreach (var part in parts)
        {
            for (var after = 0L; ;)
            {
                var page = await LiveSentIn(db, part, now)
                    .Where(n => n.Id > after)
                    .OrderBy(n => n.Id)
                    .Take(PageSize)
                    .Include(n => n.Audience)
                    .ToListAsync(cancellationToken);
                if (page.Count == 0)
                {
                    break;
                }

                // Group pushes go to the members this instance has, as of when each joined: a member who left, or left and
                // joined again, while this instance could not hear of it must be moved first, and the resync that follows
                // an outage may not have run yet. One that started after the window saw every change made in it.
                if (!resynced && page.Exists(n => n.Audience.Exists(a => a.Kind == AudienceKind.Group)))
                {
                    await bus.ResyncNowAsync(parts[^1].To, cancellationToken);
                    resynced = true;
                }

                // Written late: members who joined a group after the send are left out as each connection is written to.
                var works = page.ConvertAll(notification => new PushWork(0, OutboxKind.Send, NotificationDto.From(notification), PushTargets.Of(notification)));

                await WriteHereAsync(missed, works);
                pushed += page.Count;
                after = page[^1].Id;
                if (page.Count < PageSize)
                {
                    break;
                }
            }
        }

        return pushed;
    }

    /// <summary>
    /// Each push to this instance's connections that its targets name, as the dispatcher maps them; consecutive pushes to
    /// everyone go as one <see cref="PushBatch"/> (one write per connection), as the dispatcher sends them.
    /// </summary>
    private static async Task WriteHereAsync(IMissedPushes missed, List<PushWork> works)
    {
        const string method = nameof(INotificationClient.ReceiveNotification);
        for (var i = 0; i < works.Count;)
        {
            var run = EveryoneRun.Length(works, i);
            if (run > 1)
            {
                var batch = new PushBatch();
                for (var j = i; j < i + run; j++)
                {
                    batch.Add(method, works[j].Notification);
                }

                await missed.WriteToEveryoneHereAsync(PushBatch.Target, [batch]);
                i += run;
                continue;
            }

            var work = works[i++];
            await (work.Targets.Everyone
                ? missed.WriteToEveryoneHereAsync(method, [work.Notification])
                : missed.WriteToAudienceHereAsync(work.Targets.Users, work.Targets.HubGroupNames(), work.GroupsJoinedBy, method, [work.Notification]));
        }
    }

    /// <summary>Notifications sent in <paramref name="window"/> that a recipient may still see (not retracted, not expired).</summary>
    private static IQueryable<Notification> LiveSentIn(NotificationsDbContext db, MissedWindow window, DateTime now)
    {
        var (from, to) = (window.From, window.To);
        return db.Notifications.AsNoTracking()
            .Where(n => n.CreatedAt >= from && n.CreatedAt <= to && n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now));
    }
}
