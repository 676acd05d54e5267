using Microsoft.EntityFrameworkCore;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>
/// What a viewer may see, as database queries. This is <see cref="Visibility"/> translated to SQL: the user is
/// listed, one of the token's roles is listed, they joined a listed group at or before creation, or everyone.
/// </summary>
public sealed class InboxQueries(NotificationsDbContext db, TimeProvider time)
{
    public IQueryable<Notification> Visible(Viewer viewer)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var userId = viewer.UserId;
        var roles = viewer.Roles.ToArray();
        return db.Notifications.AsNoTracking().Where(n =>
            n.RetractedAt == null
            && (n.ExpiresAt == null || n.ExpiresAt > now)
            && (n.Everyone
                || n.Audience.Any(a =>
                    (a.Kind == AudienceKind.User && a.Value == userId)
                    || (a.Kind == AudienceKind.Role && roles.Contains(a.Value))
                    || (a.Kind == AudienceKind.Group && db.GroupMembers.Any(m => m.UserId == userId && m.GroupName == a.Value && m.JoinedAt <= n.CreatedAt)))));
    }

    public async Task<ReadWatermark?> WatermarkAsync(string userId, CancellationToken cancellationToken) =>
        await db.ReadWatermarks.AsNoTracking().FirstOrDefaultAsync(w => w.UserId == userId, cancellationToken);

    public async Task<InboxPage> PageAsync(Viewer viewer, long? before, int? limit, bool unreadOnly, bool includeArchived, CancellationToken cancellationToken)
    {
        var take = NotificationLimits.ClampInbox(limit);
        var watermark = await WatermarkAsync(viewer.UserId, cancellationToken);
        var upTo = watermark?.UpToId ?? 0;
        var rows = WithReceipts(viewer);
        if (before is { } b)
        {
            rows = rows.Where(x => x.Notification.Id < b);
        }

        if (!includeArchived)
        {
            rows = rows.Where(x => x.Receipt == null || x.Receipt.ArchivedAt == null);
        }

        if (unreadOnly)
        {
            rows = rows.Where(x => x.Notification.Id > upTo && (x.Receipt == null || x.Receipt.ReadAt == null));
        }

        var page = await rows.OrderByDescending(x => x.Notification.Id).Take(take + 1).ToListAsync(cancellationToken);
        var items = page.Take(take).Select(x => ToDto(x, watermark)).ToList();
        var hasMore = page.Count > take;
        return new InboxPage(items, hasMore, hasMore ? items[^1].Id : null);
    }

    public async Task<SyncPage> SyncAsync(Viewer viewer, long after, int? limit, CancellationToken cancellationToken)
    {
        var take = NotificationLimits.ClampSync(limit);
        var watermark = await WatermarkAsync(viewer.UserId, cancellationToken);
        var page = await WithReceipts(viewer)
            .Where(x => x.Notification.Id > after)
            .OrderBy(x => x.Notification.Id)
            .Take(take + 1)
            .ToListAsync(cancellationToken);
        var items = page.Take(take).Select(x => ToDto(x, watermark)).ToList();
        return new SyncPage(items, page.Count > take, items.Count > 0 ? items[^1].Id : after);
    }

    public async Task<NotificationDto?> FindAsync(Viewer viewer, long id, CancellationToken cancellationToken)
    {
        var row = await WithReceipts(viewer).FirstOrDefaultAsync(x => x.Notification.Id == id, cancellationToken);
        return row is null ? null : ToDto(row, await WatermarkAsync(viewer.UserId, cancellationToken));
    }

    /// <summary>
    /// Counted in two parts, each from an index instead of testing every stored notification against the audience:
    /// broadcasts are one range of the covering (Everyone, Id, RetractedAt, ExpiresAt) index past the watermark, and
    /// the rest are the few audience rows naming this user, their roles or their groups, de-duplicated.
    /// </summary>
    public async Task<int> UnreadCountAsync(Viewer viewer, CancellationToken cancellationToken)
    {
        var upTo = (await WatermarkAsync(viewer.UserId, cancellationToken))?.UpToId ?? 0;
        var now = time.GetUtcNow().UtcDateTime;
        var userId = viewer.UserId;
        var roles = viewer.Roles.ToArray();
        var live = db.Notifications.AsNoTracking().Where(n => n.Id > upTo && n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now));
        var done = db.Receipts.Where(r => r.UserId == userId && (r.ReadAt != null || r.ArchivedAt != null));

        var broadcasts = await live
            .Where(n => n.Everyone && !done.Any(r => r.NotificationId == n.Id))
            .CountAsync(cancellationToken);

        var addressed = from a in db.NotificationAudience
                        where a.Kind == AudienceKind.User && a.Value == userId
                        join n in live on a.NotificationId equals n.Id
                        where !n.Everyone
                        select n.Id;
        if (roles.Length > 0)
        {
            addressed = addressed.Concat(
                from a in db.NotificationAudience
                where a.Kind == AudienceKind.Role && roles.Contains(a.Value)
                join n in live on a.NotificationId equals n.Id
                where !n.Everyone
                select n.Id);
        }

        addressed = addressed.Concat(
            from m in db.GroupMembers
            where m.UserId == userId
            join a in db.NotificationAudience on m.GroupName equals a.Value
            where a.Kind == AudienceKind.Group
            join n in live on a.NotificationId equals n.Id
            where !n.Everyone && m.JoinedAt <= n.CreatedAt
            select n.Id);

        var targeted = await addressed.Distinct()
            .Where(id => !done.Any(r => r.NotificationId == id))
            .CountAsync(cancellationToken);
        return broadcasts + targeted;
    }

    /// <summary>The subset of <paramref name="ids"/> the viewer may see; the rest are ignored by callers.</summary>
    public async Task<List<long>> VisibleIdsAsync(Viewer viewer, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var wanted = ids.Where(id => id > 0).Distinct().ToArray();
        return wanted.Length == 0 ? [] : await Visible(viewer).Where(n => wanted.Contains(n.Id)).Select(n => n.Id).ToListAsync(cancellationToken);
    }

    private IQueryable<Row> WithReceipts(Viewer viewer)
    {
        var userId = viewer.UserId;
        return from n in Visible(viewer)
               join r in db.Receipts.Where(r => r.UserId == userId) on n.Id equals r.NotificationId into receipts
               from r in receipts.DefaultIfEmpty()
               select new Row { Notification = n, Receipt = r };
    }

    private static NotificationDto ToDto(Row row, ReadWatermark? watermark) =>
        NotificationDto.From(row.Notification, ReadState.Resolve(
            row.Notification.Id, watermark?.UpToId ?? 0, watermark?.ReadAt, row.Receipt?.ReadAt, row.Receipt?.SeenAt, row.Receipt?.ArchivedAt));

    private sealed class Row
    {
        public required Notification Notification { get; init; }

        public Receipt? Receipt { get; init; }
    }
}
