using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
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

    public Func<NotificationsDbContext, string, IAsyncEnumerable<Membership>> Memberships { get; } =
        EF.CompileAsyncQuery((NotificationsDbContext context, string userId) =>
            context.GroupMembers.AsNoTracking().Where(m => m.UserId == userId).Select(m => new Membership(m.GroupName, m.JoinedAt)));

    public static CompiledReads For(NotificationsDbContext db) => ByModel.GetValue(db.Model, _ => new CompiledReads());
}

/// <summary>A group the reader belongs to, and since when.</summary>
internal sealed record Membership(string GroupName, DateTime JoinedAt);
