using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Notifications.Api.Sending;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Retention;

/// <summary>What one cleanup run did: how many statements it took and the most rows any one of them touched.</summary>
public sealed record RetentionResult(int KeysCleared, int ExpiredDeleted, int AgedDeleted, int Statements, int LargestStatement, int ReadAllStepsDeleted);

/// <summary>
/// Frees idempotency keys whose window has passed and deletes expired and retention-aged notifications whose key is
/// free with their audience, receipts and outbox rows. Each statement touches at most <see cref="RetentionOptions.BatchSize"/> rows, and
/// each batch of that many notifications is deleted, with all of its rows and its broadcasts' tallies, in one
/// transaction, so sends, reads and syncs never wait long behind it and never see half a batch. Every instance runs
/// it, unsynchronised: two runs may pick the same batch, and the one that finds its rows gone deletes and subtracts
/// nothing.
/// </summary>
public sealed class RetentionCleaner(
    IServiceScopeFactory scopes,
    IOptions<RetentionOptions> options,
    IOptions<IdempotencyOptions> idempotency,
    TimeProvider time,
    ILogger<RetentionCleaner> logger)
{
    public async Task<RetentionResult> RunOnceAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        var run = new Run(db, options.Value.BatchSize, cancellationToken);
        var now = time.GetUtcNow().UtcDateTime;
        var keyCutoff = now.AddHours(-idempotency.Value.WindowHours);
        var ageCutoff = now.AddDays(-options.Value.Days);

        // Keys first: an expired or aged notification keeps its row while its key may still be replayed (else a
        // replay within the window would send it again), and is deleted in the same run once the key is free. So a
        // Retention:Days shorter than Idempotency:WindowHours keeps keyed sends for the window, and no longer.
        var keys = await run.UpdateInBatchesAsync(
            db.Notifications.Where(n => n.IdempotencyKey != null && n.CreatedAt < keyCutoff),
            s => s.SetProperty(n => n.IdempotencyKey, (string?)null).SetProperty(n => n.RequestHash, (string?)null));
        var expired = await run.DeleteNotificationsAsync(db.Notifications.Where(n => n.ExpiresAt < now && n.IdempotencyKey == null));
        var aged = await run.DeleteNotificationsAsync(db.Notifications.Where(n => n.CreatedAt < ageCutoff && n.IdempotencyKey == null));

        // A read-all step says when the notifications up to its id were read; one below every stored notification
        // covers none any more (ids only grow), and each user would otherwise keep one row per read-all for ever.
        var oldest = await db.Notifications.MinAsync(n => (long?)n.Id, cancellationToken);
        var steps = oldest is { } firstStored
            ? await run.DeleteInChunksAsync(db.ReadAllSteps.Where(s => s.UpToId < firstStored).OrderBy(s => s.UserId).ThenBy(s => s.UpToId))
            : 0;

        var result = new RetentionResult(keys, expired, aged, run.Statements, run.LargestStatement, steps);
        if (keys + expired + aged + steps > 0)
        {
            logger.LogInformation(
                "Retention freed {Keys} idempotency keys, deleted {Expired} expired and {Aged} aged notifications and {Steps} read-all steps in {Statements} statements",
                keys, expired, aged, steps, run.Statements);
        }

        return result;
    }

    private sealed class Run(NotificationsDbContext db, int batchSize, CancellationToken cancellationToken)
    {
        public int Statements { get; private set; }

        public int LargestStatement { get; private set; }

        public async Task<int> UpdateInBatchesAsync(
            IQueryable<Notification> query,
            Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<Notification>> setters)
        {
            var total = 0;
            while (true)
            {
                var ids = await NextIdsAsync(query);
                if (ids.Count == 0)
                {
                    return total;
                }

                total += Count(await db.Notifications.Where(n => ids.Contains(n.Id)).ExecuteUpdateAsync(setters, cancellationToken));
            }
        }

        /// <summary>
        /// One batch of ids at a time, in one transaction: the children in bounded chunks, then the notifications with
        /// their broadcast tallies. A run that fails or is cancelled part way leaves the batch as it was; a receipt
        /// deleted on its own would make its notification, still listed, unread again.
        /// </summary>
        public async Task<int> DeleteNotificationsAsync(IQueryable<Notification> query)
        {
            var total = 0;
            while (true)
            {
                var ids = await NextIdsAsync(query);
                if (ids.Count == 0)
                {
                    return total;
                }

                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

                // The foreign keys cascade, but a cascade is one statement as large as the batch's receipts; these keep
                // each statement bounded, and the cascade takes whatever is added to the batch meanwhile.
                await DeleteInChunksAsync(db.Receipts.Where(r => ids.Contains(r.NotificationId)).OrderBy(r => r.NotificationId).ThenBy(r => r.UserId));
                await DeleteInChunksAsync(db.NotificationAudience.Where(a => ids.Contains(a.NotificationId)).OrderBy(a => a.NotificationId).ThenBy(a => a.Kind).ThenBy(a => a.Value));
                await DeleteInChunksAsync(db.Outbox.Where(o => ids.Contains(o.NotificationId)).OrderBy(o => o.Id));
                total += Count(await db.DeleteNotificationsAsync(ids, cancellationToken));
                await transaction.CommitAsync(cancellationToken);
            }
        }

        private int Count(int rows)
        {
            Statements++;
            LargestStatement = Math.Max(LargestStatement, rows);
            return rows;
        }

        private Task<List<long>> NextIdsAsync(IQueryable<Notification> query) =>
            query.OrderBy(n => n.Id).Select(n => n.Id).Take(batchSize).ToListAsync(cancellationToken);

        public async Task<int> DeleteInChunksAsync<T>(IQueryable<T> rows)
        {
            var total = 0;
            int deleted;
            do
            {
                deleted = Count(await rows.Take(batchSize).ExecuteDeleteAsync(cancellationToken));
                total += deleted;
            }
            while (deleted == batchSize);
            return total;
        }
    }
}
