using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Notifications.Domain;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Inbox;

/// <summary>
/// The small lookups every hub connect, page, sync and unread count runs, compiled once: for queries this small, EF
/// Core's per-call work (parameter extraction, the query cache lookup) costs more than the database running them. A
/// compiled query is bound to the model it first ran with, so there is one set per model (one in a service; tests
/// run several apps, on several providers, in one process).
/// </summary>
internal sealed class CompiledReads
{
    private static readonly ConditionalWeakTable<IModel, CompiledReads> ByModel = [];

    public Func<NotificationsDbContext, string, CancellationToken, Task<ReadWatermark?>> Watermark { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, string userId, CancellationToken _) =>
            context.ReadWatermarks.AsNoTracking().FirstOrDefault(w => w.UserId == userId));

    /// <summary>
    /// The reader's read-all steps reaching <c>from</c> or beyond, by id: one range of the steps' key. Steps below it
    /// cover no id from there on, so a sync after an id reads only the steps since.
    /// </summary>
    public Func<NotificationsDbContext, string, long, IAsyncEnumerable<ReadAll>> ReadAllsFrom { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, string userId, long from) =>
            context.ReadAllSteps.AsNoTracking()
                .Where(s => s.UserId == userId && s.UpToId >= from)
                .OrderBy(s => s.UpToId)
                .Select(s => new ReadAll(s.UpToId, s.ReadAt)));

    public Func<NotificationsDbContext, string, IAsyncEnumerable<GroupJoin>> Memberships { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, string userId) =>
            context.GroupMembers.AsNoTracking().Where(m => m.UserId == userId).Select(m => new GroupJoin(m.GroupName, m.JoinedAt)));

    /// <summary>The highest notification id stored (committed, at READ COMMITTED); null when there is none.</summary>
    public Func<NotificationsDbContext, CancellationToken, Task<long?>> HighestId { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, CancellationToken _) => context.Notifications.Max(n => (long?)n.Id));

    /// <summary>Live broadcasts after an id, oldest first, up to a count: one range of the (Everyone, Id) index.</summary>
    public Func<NotificationsDbContext, long, DateTime, int, IAsyncEnumerable<long>> BroadcastIdsAfter { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, long after, DateTime now, int take) =>
            context.Notifications
                .Where(n => n.Everyone && n.Id > after && n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now))
                .OrderBy(n => n.Id)
                .Select(n => n.Id)
                .Take(take));

    /// <summary>
    /// Live notifications after an id whose audience names this user, role or group (a group's only if created at or
    /// after <c>joinedAt</c>), oldest first, up to a count: one range of the audience index.
    /// </summary>
    public Func<NotificationsDbContext, AudienceKind, string, DateTime?, long, DateTime, int, IAsyncEnumerable<long>> AddressedIdsAfter { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, AudienceKind kind, string value, DateTime? joinedAt, long after, DateTime now, int take) =>
            (from a in context.NotificationAudience
             where a.Kind == kind && a.Value == value && a.NotificationId > after
             join n in context.Notifications on a.NotificationId equals n.Id
             where n.RetractedAt == null && (n.ExpiresAt == null || n.ExpiresAt > now) && (joinedAt == null || n.CreatedAt >= joinedAt)
             orderby a.NotificationId
             select a.NotificationId)
            .Take(take));

    /// <summary>The notifications with these ids, oldest first, each with the reader's receipt if there is one.</summary>
    public Func<NotificationsDbContext, long[], string, IAsyncEnumerable<(Notification Notification, Receipt? Receipt)>> WithReceipts { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, long[] ids, string userId) =>
            from n in context.Notifications.AsNoTracking()
            where ids.Contains(n.Id)
            join r in context.Receipts.Where(r => r.UserId == userId) on n.Id equals r.NotificationId into receipts
            from r in receipts.DefaultIfEmpty()
            orderby n.Id
            select ValueTuple.Create(n, (Receipt?)r));

    public static CompiledReads For(NotificationsDbContext db) => ByModel.GetValue(db.Model, _ => new CompiledReads());
}

/// <summary>A group the reader belongs to, and since when.</summary>
internal sealed record GroupJoin(string GroupName, DateTime JoinedAt);
