using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Notifications.Api.Hubs;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>Receipts and read-all for one user; read changes are pushed to all of that user's connections.</summary>
public sealed class ReadStateService(
    NotificationsDbContext db,
    InboxQueries inbox,
    IHubContext<NotificationHub, INotificationClient> hub,
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

        var visible = await inbox.VisibleIdsAsync(viewer, ids, cancellationToken);
        if (visible.Count == 0)
        {
            return visible;
        }

        await db.UpsertReceiptsAsync(viewer.UserId, visible, field, time.GetUtcNow().UtcDateTime, cancellationToken);
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

    /// <summary>Marks one notification; false when the viewer cannot see it.</summary>
    public async Task<bool> MarkOneAsync(Viewer viewer, long id, ReceiptField field, CancellationToken cancellationToken) =>
        (await MarkAsync(viewer, [id], field, cancellationToken)).Count == 1;

    /// <summary>Moves the user's watermark to the newest notification id; ids commit in order, so none is skipped.</summary>
    public async Task<long> MarkAllReadAsync(Viewer viewer, CancellationToken cancellationToken)
    {
        var upTo = await db.Notifications.MaxAsync(n => (long?)n.Id, cancellationToken) ?? 0;
        var now = time.GetUtcNow().UtcDateTime;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var watermark = await db.ReadWatermarks.FirstOrDefaultAsync(w => w.UserId == viewer.UserId, cancellationToken);
                if (watermark is null)
                {
                    db.ReadWatermarks.Add(new ReadWatermark { UserId = viewer.UserId, UpToId = upTo, ReadAt = now });
                }
                else if (watermark.UpToId < upTo)
                {
                    watermark.UpToId = upTo;
                    watermark.ReadAt = now;
                }

                await db.SaveChangesAsync(cancellationToken);
                break;
            }
            catch (DbUpdateException) when (attempt == 0)
            {
                // Another connection of the same user created the row first: read it again and move it forward.
                db.ChangeTracker.Clear();
            }
        }

        await hub.Clients.User(viewer.UserId).AllRead(new AllReadPayload(upTo));
        await PushUnreadCountAsync(viewer, cancellationToken);
        return upTo;
    }

    private async Task PushUnreadCountAsync(Viewer viewer, CancellationToken cancellationToken) =>
        await hub.Clients.User(viewer.UserId).UnreadCountChanged(await inbox.UnreadCountAsync(viewer, cancellationToken));
}
