using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Notifications.Infrastructure.Data;

/// <summary>
/// The one model for every provider. Each provider has a subclass (for its own migrations) that also supplies
/// the few statements EF cannot express portably: the send-order lock and the receipt upsert.
/// </summary>
public abstract class NotificationsDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Notification> Notifications => Set<Notification>();

    public DbSet<NotificationAudience> NotificationAudience => Set<NotificationAudience>();

    public DbSet<Receipt> Receipts => Set<Receipt>();

    public DbSet<ReadWatermark> ReadWatermarks => Set<ReadWatermark>();

    public DbSet<ReadAllStep> ReadAllSteps => Set<ReadAllStep>();

    public DbSet<NotificationGroup> Groups => Set<NotificationGroup>();

    public DbSet<GroupMember> GroupMembers => Set<GroupMember>();

    public DbSet<OutboxEntry> Outbox => Set<OutboxEntry>();

    public DbSet<BroadcastBucket> BroadcastBuckets => Set<BroadcastBucket>();

    /// <summary>
    /// Serializes sending transactions so that notification ids become visible in id order: a client that
    /// syncs after the highest id it has seen can then never skip one that commits later with a lower id.
    /// Call inside a transaction, right before inserting notifications.
    /// </summary>
    public abstract Task AcquireSendOrderLockAsync(CancellationToken cancellationToken);

    /// <summary>Begins the transaction that writes a group of sends; a provider may tune its connection first.</summary>
    public virtual Task<IDbContextTransaction> BeginSendTransactionAsync(CancellationToken cancellationToken) =>
        Database.BeginTransactionAsync(cancellationToken);

    /// <summary>
    /// Opens a group of sends inside the send transaction: deletes <paramref name="pushedOutboxIds"/> (outbox entries
    /// whose push is done) and, when <paramref name="sends"/> follow, takes the send-order lock. Each group waits for
    /// the one before it, so a provider with round trips does all of this, and draws the group's ids, in one; this
    /// default runs the statements one by one and draws nothing.
    /// </summary>
    public virtual async Task<DrawnIds?> BeginSendGroupAsync(IReadOnlyCollection<long> pushedOutboxIds, int sends, CancellationToken cancellationToken)
    {
        if (pushedOutboxIds.Count > 0)
        {
            var pushed = pushedOutboxIds.ToArray();
            await Outbox.Where(o => pushed.Contains(o.Id)).ExecuteDeleteAsync(cancellationToken);
        }

        if (sends > 0)
        {
            await AcquireSendOrderLockAsync(cancellationToken);
        }

        return null;
    }

    /// <summary>
    /// Inserts a group of sends inside the current transaction, after <see cref="AcquireSendOrderLockAsync"/>: each
    /// notification with its audience rows, and a <see cref="OutboxKind.Send"/> outbox entry for it; the group's
    /// broadcasts are added to their <see cref="BroadcastBucket"/> rows. Sets each notification's
    /// <see cref="Notification.Id"/> (ascending in list order) and returns the outbox entry ids in the same order. This
    /// default goes through the change tracker; providers override it with set-based SQL, because this is the one
    /// serial step every send waits for. <paramref name="drawn"/>: ids <see cref="BeginSendGroupAsync"/> drew ahead, if
    /// any; ids drawn and not used are gaps, as a rolled-back send leaves.
    /// </summary>
    public virtual async Task<long[]> InsertSendsAsync(IReadOnlyList<Notification> notifications, OutboxLease lease, DrawnIds? drawn, CancellationToken cancellationToken)
    {
        Notifications.AddRange(notifications);
        await SaveChangesAsync(cancellationToken);
        var entries = notifications.Select(n => lease.EntryFor(n.Id)).ToList();
        Outbox.AddRange(entries);
        await SaveChangesAsync(cancellationToken);
        await CountBroadcastsAsync(notifications.Where(n => n.Everyone).Select(n => n.Id), cancellationToken);
        return [.. entries.Select(e => e.Id)];
    }

    /// <summary>
    /// Adds newly inserted broadcasts to their <see cref="BroadcastBucket"/> rows, for providers without an upsert
    /// (SQL Server). In the send transaction, after <see cref="AcquireSendOrderLockAsync"/>: only senders create bucket
    /// rows, so the lock makes "update, else insert" safe, and retention's concurrent subtractions are single atomic
    /// updates.
    /// </summary>
    private async Task CountBroadcastsAsync(IEnumerable<long> broadcastIds, CancellationToken cancellationToken)
    {
        foreach (var block in broadcastIds.GroupBy(BroadcastBucket.Of))
        {
            var bucket = block.Key;
            var added = (long)block.Count();
            var updated = await BroadcastBuckets.Where(b => b.Bucket == bucket)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.Count, b => b.Count + added), cancellationToken);
            if (updated == 0)
            {
                await Database.ExecuteSqlAsync($"INSERT INTO \"BroadcastBuckets\" (\"Bucket\", \"Count\") VALUES ({bucket}, {added})", cancellationToken);
            }
        }
    }

    /// <summary>
    /// Deletes those of <paramref name="ids"/> that are still stored and takes the broadcasts among them off their
    /// <see cref="BroadcastBucket"/> rows; returns how many it deleted. Call inside the deleting transaction. Another
    /// instance may be deleting the same ids at the same time: only the rows this statement reports back as deleted
    /// by itself are subtracted, so a broadcast the other one deleted first is not subtracted a second time (a count
    /// of the broadcasts read before the delete would still see rows the other has deleted and not yet committed).
    /// </summary>
    public async Task<int> DeleteNotificationsAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        if (Database.CurrentTransaction is null)
        {
            throw new InvalidOperationException("Notifications are deleted inside a transaction, with their broadcast tallies.");
        }

        var deleted = await DeleteReturningAsync(ids, cancellationToken);
        await UncountBroadcastsAsync(deleted.Where(d => d.Everyone).Select(d => d.Id), cancellationToken);
        return deleted.Count;
    }

    /// <summary>One statement that deletes the notifications of <paramref name="ids"/> and returns the rows it deleted.</summary>
    protected abstract Task<List<DeletedNotification>> DeleteReturningAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken);

    protected sealed record DeletedNotification(long Id, bool Everyone);

    private async Task UncountBroadcastsAsync(IEnumerable<long> broadcastIds, CancellationToken cancellationToken)
    {
        foreach (var block in broadcastIds.GroupBy(BroadcastBucket.Of))
        {
            var bucket = block.Key;
            var removed = (long)block.Count();
            await BroadcastBuckets.Where(b => b.Bucket == bucket)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.Count, b => b.Count - removed), cancellationToken);
        }
    }

    /// <summary>
    /// Held around <c>MigrateAsync</c> so that instances starting together against one database apply each migration
    /// once. The default holds nothing: EF's own migration lock covers the whole run where the provider's lock lives as
    /// long as the connection (SQL Server, SQLite).
    /// </summary>
    public virtual Task<IAsyncDisposable> AcquireMigrationLockAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IAsyncDisposable>(NoLock.Instance);

    /// <summary>
    /// Moves the user's read-all watermark up to <paramref name="upToId"/> and adds the step to their
    /// <see cref="ReadAllSteps"/>, atomically: never back, and no step when it
    /// reaches no new id; the step's time is not before the previous one's. The watermark row's lock orders concurrent
    /// read-alls of one user (several tabs), so they neither collide on the insert nor undo each other, and steps are
    /// added in id order.
    /// </summary>
    public abstract Task RaiseWatermarkAsync(string userId, long upToId, DateTime at, CancellationToken cancellationToken);

    /// <summary>Sets <paramref name="field"/> for the user on each notification, once; concurrent calls are safe.</summary>
    public abstract Task UpsertReceiptsAsync(string userId, IReadOnlyCollection<long> notificationIds, ReceiptField field, DateTime at, CancellationToken cancellationToken);

    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(NotificationsDbContext).Assembly);

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Every time is UTC; providers that drop the kind (SQLite, SQL Server datetime2) get it back on read.
        configurationBuilder.Properties<DateTime>().HaveConversion<UtcDateTimeConverter>();
        configurationBuilder.Properties<DateTime?>().HaveConversion<UtcDateTimeConverter>();
    }

    protected static string ColumnOf(ReceiptField field) => field switch
    {
        ReceiptField.Delivered => nameof(Receipt.DeliveredAt),
        ReceiptField.Seen => nameof(Receipt.SeenAt),
        ReceiptField.Read => nameof(Receipt.ReadAt),
        ReceiptField.Archived => nameof(Receipt.ArchivedAt),
        _ => throw new ArgumentOutOfRangeException(nameof(field)),
    };

    private sealed class UtcDateTimeConverter() : ValueConverter<DateTime, DateTime>(
        v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(),
        v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private sealed class NoLock : IAsyncDisposable
    {
        public static readonly NoLock Instance = new();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
