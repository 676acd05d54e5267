using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hardening;
using Notifications.Api.Hubs;
using Notifications.Domain;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>Receipts and read-all for one user; read changes are pushed to all of that user's connections.</summary>
public sealed class ReadStateService(
    NotificationsDbContext db,
    InboxQueries inbox,
    IHubContext<NotificationHub, INotificationClient> hub,
    IClusterBus bus,
    NotificationsMetrics metrics,
    TimeProvider time)
{
    public const int MaxIdsPerCall = 1000;

    /// <summary>Marks the visible ones of <paramref name="ids"/>; returns which were marked.</summary>
    public async Task<List<long>> MarkAsync(Viewer viewer, IReadOnlyCollection<long> ids, ReceiptField field, CancellationToken cancellationToken)
    {
        if (ids.Count > MaxIdsPerCall)
        {
            throw new DomainException($"At most {MaxIdsPerCall} ids per call.");
        }

        var visible = await UpsertVisibleAsync(viewer, ids, field, cancellationToken);
        if (visible.Count == 0)
        {
            return visible;
        }

        metrics.Receipts(field, visible.Count);
        switch (field)
        {
            case ReceiptField.Read:
                await hub.Clients.User(viewer.UserId).NotificationsRead([.. visible]);
                await PushUnreadCountAsync(viewer, cancellationToken);
                break;
            case ReceiptField.Archived:
                await PushUnreadCountAsync(viewer, cancellationToken);
                break;
            default:
                break;
        }

        return visible;
    }

    /// <summary>
    /// Upserts the receipts of the visible ones of <paramref name="ids"/>; returns those. Retention may delete one of
    /// them after it was found visible: its delete commits while the upsert waits on it (PostgreSQL: on its row lock;
    /// SQLite: on the write lock), and the upsert fails on the foreign key, all of its rows with it. Such an id is no
    /// longer visible, as if it had been gone before the call, so the rest are checked again and upserted without it.
    /// Every retry has fewer ids, so this ends; a violation that leaves every id visible is not that race and is thrown.
    /// </summary>
    private async Task<List<long>> UpsertVisibleAsync(Viewer viewer, IReadOnlyCollection<long> ids, ReceiptField field, CancellationToken cancellationToken)
    {
        var visible = await inbox.VisibleIdsAsync(viewer, ids, cancellationToken);
        var at = time.GetUtcNow().UtcDateTime;
        while (visible.Count > 0)
        {
            // Sorted, so concurrent upserts of overlapping ids by one user take their row locks in the same order.
            visible.Sort();
            try
            {
                await db.UpsertReceiptsAsync(viewer.UserId, visible, field, at, cancellationToken);
                return visible;
            }
            catch (Exception ex) when (StoreFailures.IsForeignKeyViolation(ex))
            {
                var stillVisible = await inbox.VisibleIdsAsync(viewer, visible, cancellationToken);
                if (stillVisible.Count == visible.Count)
                {
                    throw;
                }

                visible = stillVisible;
            }
        }

        return visible;
    }

    /// <summary>Marks one notification; false when the viewer cannot see it.</summary>
    public async Task<bool> MarkOneAsync(Viewer viewer, long id, ReceiptField field, CancellationToken cancellationToken) =>
        (await MarkAsync(viewer, [id], field, cancellationToken)).Count == 1;

    /// <summary>Moves the user's watermark to the newest notification id; ids commit in order, so none is skipped.</summary>
    public async Task<long> MarkAllReadAsync(Viewer viewer, CancellationToken cancellationToken)
    {
        var upTo = await db.Notifications.MaxAsync(n => (long?)n.Id, cancellationToken) ?? 0;
        await db.RaiseWatermarkAsync(viewer.UserId, upTo, time.GetUtcNow().UtcDateTime, cancellationToken);
        metrics.ReadAll();
        await hub.Clients.User(viewer.UserId).AllRead(new AllReadPayload(upTo));
        await PushUnreadCountAsync(viewer, cancellationToken);
        return upTo;
    }

    // Not counted here with the caller's roles: each of the user's connections, on any instance, is told the count its own
    // token's roles see (UnreadCountPusher).
    private Task PushUnreadCountAsync(Viewer viewer, CancellationToken cancellationToken) =>
        bus.PublishAsync(new ReadStateChanged(viewer.UserId), cancellationToken);
}
