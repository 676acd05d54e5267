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

    /// <summary>The highest id the user's read-alls reached: all the unread count and the unread filters need.</summary>
    private async Task<long> ReadAllUpToAsync(string userId, CancellationToken cancellationToken) =>
        (await CompiledReads.For(db).Watermark(db, userId, cancellationToken))?.UpToId ?? 0;

    /// <summary>The user's read-all steps that can cover an id from <paramref name="from"/> on, in one statement.</summary>
    private async Task<ReadAllHistory> ReadAllsAsync(string userId, long from, CancellationToken cancellationToken) =>
        new(await CompiledReads.For(db).ReadAllsFrom(db, userId, from).ToListAsync(cancellationToken));

    public async Task<InboxPage> PageAsync(Viewer viewer, long? before, int? limit, bool unreadOnly, bool includeArchived, CancellationToken cancellationToken)
    {
        var take = NotificationLimits.ClampInbox(limit);
        var now = time.GetUtcNow().UtcDateTime;
        var page = db is PostgresNotificationsDbContext
            ? await PostgresInboxReads.PageAsync(db, viewer, now, 0, before ?? long.MaxValue, newestFirst: true, unreadOnly, includeArchived, take + 1, cancellationToken)
            : await EfPageAsync(viewer, now, before, unreadOnly, includeArchived, take + 1, cancellationToken);
        var items = page.Count > take ? page[..take] : page;
        var hasMore = page.Count > take;
        return new InboxPage(items, hasMore, hasMore ? items[^1].Id : null);
    }

    public async Task<SyncPage> SyncAsync(Viewer viewer, long after, int? limit, CancellationToken cancellationToken)
    {
        var take = NotificationLimits.ClampSync(limit);
        var now = time.GetUtcNow().UtcDateTime;
        var page = db switch
        {
            PostgresNotificationsDbContext => await PostgresInboxReads.PageAsync(db, viewer, now, after, long.MaxValue, newestFirst: false, unreadOnly: false, includeArchived: true, take + 1, cancellationToken),
            SqliteNotificationsDbContext sqlite => await SqliteSyncAsync(sqlite, viewer, now, after, take + 1, cancellationToken),
            _ => await HorizonSyncAsync(viewer, now, after, take + 1, cancellationToken),
        };
        return ToSyncPage(page, take, after);
    }

    /// <summary>
    /// The sync SQL Server runs (see <see cref="HorizonSyncAsync"/>), on whatever store this context is. For the tests,
    /// which run it on SQLite and PostgreSQL, whose <see cref="SyncAsync"/> reads another way; the service itself calls
    /// SyncAsync.
    /// </summary>
    internal async Task<SyncPage> SyncUpToHorizonAsync(Viewer viewer, long after, int? limit, CancellationToken cancellationToken)
    {
        var take = NotificationLimits.ClampSync(limit);
        return ToSyncPage(await HorizonSyncAsync(viewer, time.GetUtcNow().UtcDateTime, after, take + 1, cancellationToken), take, after);
    }

    private static SyncPage ToSyncPage(List<NotificationDto> page, int take, long after)
    {
        var items = page.Count > take ? page[..take] : page;
        return new SyncPage(items, page.Count > take, items.Count > 0 ? items[^1].Id : after);
    }

    public async Task<NotificationDto?> FindAsync(Viewer viewer, long id, CancellationToken cancellationToken)
    {
        var row = await WithReceipts(viewer).FirstOrDefaultAsync(x => x.Notification.Id == id, cancellationToken);
        return row is null ? null : ToDto(row, await ReadAllsAsync(viewer.UserId, from: id, cancellationToken));
    }

    /// <summary>
    /// Counted in two parts, each from indexes instead of testing every stored notification against the audience:
    /// broadcasts from the bucket counts (see <see cref="UnreadBroadcastsAsync"/>), and the rest from the audience
    /// rows naming this user, their roles or their groups, de-duplicated.
    /// </summary>
    public async Task<int> UnreadCountAsync(Viewer viewer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().UtcDateTime;
        if (db is PostgresNotificationsDbContext)
        {
            return await PostgresInboxReads.UnreadCountAsync(db, viewer, now, cancellationToken);
        }

        var upTo = await ReadAllUpToAsync(viewer.UserId, cancellationToken);
        var userId = viewer.UserId;
        var roles = viewer.Roles.ToArray();
        var live = db.Notifications.AsNoTracking().Where(n => n.Id > upTo && n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now));
        var done = db.Receipts.Where(r => r.UserId == userId && (r.ReadAt != null || r.ArchivedAt != null));

        var broadcasts = await UnreadBroadcastsAsync(userId, upTo, now, cancellationToken);

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

    /// <summary>
    /// Live broadcasts after the watermark that the user has not read or archived, in one statement (one snapshot):
    /// the stored broadcasts after it (whole <see cref="BroadcastBucket"/> rows, plus the partial block the watermark
    /// falls in), minus the retracted and the expired ones (few, found by index), minus the user's own receipts.
    /// The cost grows with the number of buckets and the user's receipts, not with the broadcasts stored.
    /// </summary>
    private async Task<int> UnreadBroadcastsAsync(string userId, long upTo, DateTime now, CancellationToken cancellationToken)
    {
        var bucket = BroadcastBucket.Of(upTo);
        var bucketEnd = (bucket + 1) * BroadcastBucket.IdsPerBucket;
        var everyone = true;
        var count = await db.Database.SqlQuery<long>(
            $"""
            SELECT
                COALESCE((SELECT SUM(b."Count") FROM "BroadcastBuckets" AS b WHERE b."Bucket" > {bucket}), 0)
                + (SELECT COUNT(*) FROM "Notifications" AS n WHERE n."Everyone" = {everyone} AND n."Id" > {upTo} AND n."Id" < {bucketEnd})
                - (SELECT COUNT(*) FROM "Notifications" AS n WHERE n."Everyone" = {everyone} AND n."RetractedAt" IS NOT NULL AND n."Id" > {upTo})
                - (SELECT COUNT(*) FROM "Notifications" AS n
                   WHERE n."ExpiresAt" <= {now} AND n."Everyone" = {everyone} AND n."RetractedAt" IS NULL AND n."Id" > {upTo})
                - (SELECT COUNT(*) FROM "Receipts" AS r INNER JOIN "Notifications" AS n ON n."Id" = r."NotificationId"
                   WHERE r."UserId" = {userId} AND (r."ReadAt" IS NOT NULL OR r."ArchivedAt" IS NOT NULL)
                     AND n."Everyone" = {everyone} AND n."Id" > {upTo} AND n."RetractedAt" IS NULL AND (n."ExpiresAt" IS NULL OR n."ExpiresAt" > {now}))
                AS "Value"
            """).SingleAsync(cancellationToken);
        return checked((int)count);
    }

    /// <summary>The subset of <paramref name="ids"/> the viewer may see; the rest are ignored by callers.</summary>
    public async Task<List<long>> VisibleIdsAsync(Viewer viewer, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var wanted = ids.Where(id => id > 0).Distinct().ToArray();
        return wanted.Length == 0 ? [] : await Visible(viewer).Where(n => wanted.Contains(n.Id)).Select(n => n.Id).ToListAsync(cancellationToken);
    }

    /// <summary>
    /// One page of what the viewer may see among <paramref name="candidates"/>, in id order. Each part of the audience
    /// is its own index range, cut at <paramref name="count"/>: broadcasts from the (Everyone, Id) index, the rest from
    /// the audience rows naming this user, each of their roles and each of their groups. So a page costs a few short
    /// range reads whatever else the store holds; testing stored notifications one by one against the audience
    /// costs as many probes as there are notifications for other people between two of the viewer's.
    /// </summary>
    private async Task<List<Row>> PageRowsAsync(
        Viewer viewer, Func<IQueryable<Notification>> candidates, IdRange range, bool newestFirst, int count, CancellationToken cancellationToken)
    {
        var userId = viewer.UserId;
        var memberships = await CompiledReads.For(db).Memberships(db, userId).ToListAsync(cancellationToken);

        IQueryable<long> FirstIds(IQueryable<long> ids) => (newestFirst ? ids.OrderByDescending(id => id) : ids.OrderBy(id => id)).Take(count);

        // The range bounds the audience rows too: the database does not carry an inequality across the join by itself.
        IQueryable<long> Addressed(AudienceKind kind, string value, DateTime? joinedAt = null) => FirstIds(
            from a in range.Apply(db.NotificationAudience.Where(a => a.Kind == kind && a.Value == value))
            join n in candidates() on a.NotificationId equals n.Id
            where joinedAt == null || n.CreatedAt >= joinedAt
            select a.NotificationId);

        var ids = FirstIds(range.Apply(candidates().Where(n => n.Everyone)).Select(n => n.Id)).Union(Addressed(AudienceKind.User, userId));
        foreach (var role in viewer.Roles)
        {
            ids = ids.Union(Addressed(AudienceKind.Role, role));
        }

        foreach (var membership in memberships)
        {
            ids = ids.Union(Addressed(AudienceKind.Group, membership.GroupName, membership.JoinedAt));
        }

        var rows = from id in FirstIds(ids)
                   join n in db.Notifications.AsNoTracking() on id equals n.Id
                   join r in db.Receipts.Where(r => r.UserId == userId) on n.Id equals r.NotificationId into receipts
                   from r in receipts.DefaultIfEmpty()
                   select new Row { Notification = n, Receipt = r };
        var page = await rows.ToListAsync(cancellationToken);
        return newestFirst ? [.. page.OrderByDescending(x => x.Notification.Id)] : [.. page.OrderBy(x => x.Notification.Id)];
    }

    private async Task<List<NotificationDto>> EfPageAsync(Viewer viewer, DateTime now, long? before, bool unreadOnly, bool includeArchived, int count, CancellationToken cancellationToken)
    {
        // Every step: the page may reach back to any of them, and the last one bounds an unread page.
        var readAlls = await ReadAllsAsync(viewer.UserId, from: 0, cancellationToken);
        var upTo = readAlls.UpToId;
        var userId = viewer.UserId;
        IQueryable<Notification> Candidates()
        {
            var rows = Live(now);
            if (!includeArchived)
            {
                rows = rows.Where(n => !db.Receipts.Any(r => r.UserId == userId && r.NotificationId == n.Id && r.ArchivedAt != null));
            }

            if (unreadOnly)
            {
                rows = rows.Where(n => !db.Receipts.Any(r => r.UserId == userId && r.NotificationId == n.Id && r.ReadAt != null));
            }

            return rows;
        }

        var page = await PageRowsAsync(viewer, Candidates, new IdRange(unreadOnly ? upTo : null, before), newestFirst: true, count, cancellationToken);
        return [.. page.Select(x => ToDto(x, readAlls))];
    }

    /// <summary>
    /// A sync page from separate statements with no common snapshot (SQL Server at READ COMMITTED, locking or
    /// versioned), yet gapless without raising the isolation level. The send-order lock is held from before a send's
    /// ids are drawn until it commits, so once an id is committed every lower id is committed or never will be: the
    /// highest committed id, read first, is a horizon below which nothing more can appear. Every part of the page is
    /// cut there. Without the cut, each branch of the page's union reads rows as of when it scans them: one part finds
    /// nothing, a send to that part commits, then a later send to another part does and is read, and the cursor passes
    /// the first for good. The memberships are read after the horizon, so a join and a send to the group that commit in
    /// between land above it; read before it, they could leave that send out of a page the cursor then moves past.
    /// </summary>
    private async Task<List<NotificationDto>> HorizonSyncAsync(Viewer viewer, DateTime now, long after, int count, CancellationToken cancellationToken)
    {
        var horizon = await CompiledReads.For(db).HighestId(db, cancellationToken) ?? 0;
        if (horizon <= after)
        {
            return [];
        }

        var readAlls = await ReadAllsAsync(viewer.UserId, from: after + 1, cancellationToken);
        var page = await PageRowsAsync(viewer, () => Live(now), new IdRange(after, horizon + 1), newestFirst: false, count, cancellationToken);
        return [.. page.Select(x => ToDto(x, readAlls))];
    }

    /// <summary>
    /// The page <see cref="HorizonSyncAsync"/> gives (each part of the audience its own index range, cut at
    /// <paramref name="count"/>), from compiled statements merged here, all in one read snapshot so that no id
    /// committed between two of them can be skipped. Every reconnecting client syncs: as one LINQ query built per
    /// call, EF Core's per-call work and SQLite's parse of a statement with a union per audience part were most of the
    /// server's CPU in a reconnect storm (S2); a handful of small fixed statements cost a fraction of that.
    /// </summary>
    private async Task<List<NotificationDto>> SqliteSyncAsync(SqliteNotificationsDbContext sqlite, Viewer viewer, DateTime now, long after, int count, CancellationToken cancellationToken)
    {
        await using var snapshot = await sqlite.BeginReadSnapshotAsync(cancellationToken);
        var reads = CompiledReads.For(db);
        var userId = viewer.UserId;
        var readAlls = await ReadAllsAsync(userId, from: after + 1, cancellationToken);
        var ids = new SortedSet<long>();
        await foreach (var id in reads.BroadcastIdsAfter(db, after, now, count).WithCancellation(cancellationToken))
        {
            ids.Add(id);
        }

        await AddAsync(AudienceKind.User, userId, joinedAt: null);
        foreach (var role in viewer.Roles)
        {
            await AddAsync(AudienceKind.Role, role, joinedAt: null);
        }

        foreach (var membership in await reads.Memberships(db, userId).ToListAsync(cancellationToken))
        {
            await AddAsync(AudienceKind.Group, membership.GroupName, membership.JoinedAt);
        }

        var page = new List<NotificationDto>(Math.Min(ids.Count, count));
        await foreach (var (notification, receipt) in reads.WithReceipts(db, [.. ids.Take(count)], userId).WithCancellation(cancellationToken))
        {
            page.Add(ToDto(new Row { Notification = notification, Receipt = receipt }, readAlls));
        }

        return page;

        async Task AddAsync(AudienceKind kind, string value, DateTime? joinedAt)
        {
            await foreach (var id in reads.AddressedIdsAfter(db, kind, value, joinedAt, after, now, count).WithCancellation(cancellationToken))
            {
                ids.Add(id);
            }
        }
    }

    private IQueryable<Notification> Live(DateTime now) =>
        db.Notifications.AsNoTracking().Where(n => n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now));

    private IQueryable<Row> WithReceipts(Viewer viewer)
    {
        var userId = viewer.UserId;
        return from n in Visible(viewer)
               join r in db.Receipts.Where(r => r.UserId == userId) on n.Id equals r.NotificationId into receipts
               from r in receipts.DefaultIfEmpty()
               select new Row { Notification = n, Receipt = r };
    }

    private static NotificationDto ToDto(Row row, ReadAllHistory readAlls) =>
        NotificationDto.From(row.Notification, ReadState.Resolve(
            row.Notification.Id,
            readAlls,
            row.Receipt?.ReadAt,
            row.Receipt?.SeenAt,
            row.Receipt?.ArchivedAt));

    /// <summary>Ids strictly between <see cref="Above"/> and <see cref="Below"/>; a missing bound is open.</summary>
    private sealed record IdRange(long? Above, long? Below)
    {
        public IQueryable<Notification> Apply(IQueryable<Notification> rows)
        {
            if (Above is { } above)
            {
                rows = rows.Where(n => n.Id > above);
            }

            return Below is { } below ? rows.Where(n => n.Id < below) : rows;
        }

        public IQueryable<NotificationAudience> Apply(IQueryable<NotificationAudience> rows)
        {
            if (Above is { } above)
            {
                rows = rows.Where(a => a.NotificationId > above);
            }

            return Below is { } below ? rows.Where(a => a.NotificationId < below) : rows;
        }
    }

    private sealed class Row
    {
        public required Notification Notification { get; init; }

        public Receipt? Receipt { get; init; }
    }
}
