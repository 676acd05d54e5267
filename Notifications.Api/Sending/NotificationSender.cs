using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Notifications.Api.Hardening;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Infrastructure;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Sending;

public sealed record SendOutcome(SendResult Result, bool Replayed);

/// <summary>
/// Stores a send once (notification, audience rows, outbox entry) in one transaction, then hands it to the
/// dispatcher. Persisted before pushed: nothing reaches a client that is not in the database.
/// </summary>
public sealed class NotificationSender(
    IServiceProvider services,
    NotificationDispatcher dispatcher,
    InstanceIdentity instance,
    IOptions<OutboxOptions> outbox,
    IOptions<IdempotencyOptions> idempotency,
    IOptions<SendFaultOptions> faults,
    SendGate gate,
    NotificationsMetrics metrics,
    TimeProvider time)
{
    private NotificationsDbContext? context;

    // Resolved on first use: a send request without groups never touches the database itself (the group commit
    // writes it, in a scope of its own), and renting and resetting a pooled context for every request was 3 % of the
    // server's CPU per send in S4.
    private NotificationsDbContext Db => context ??= services.GetRequiredService<NotificationsDbContext>();

    public Task<SendOutcome> SendAsync(Viewer sender, SendNotificationRequest request, string? idempotencyKey, CancellationToken cancellationToken) =>
        SubmitAsync(sender, request, idempotencyKey, replayOnly: false, cancellationToken);

    /// <summary>
    /// Answers a request whose expiresAt has passed, which must not be stored, as a replay of the send stored under
    /// <paramref name="idempotencyKey"/> with the same payload; null (and nothing stored) when there is none.
    /// </summary>
    public async Task<SendOutcome?> ReplayAsync(Viewer sender, SendNotificationRequest request, string idempotencyKey, CancellationToken cancellationToken)
    {
        try
        {
            return await SubmitAsync(sender, request, idempotencyKey, replayOnly: true, cancellationToken);
        }
        catch (NothingToReplayException)
        {
            return null;
        }
    }

    private async Task<SendOutcome> SubmitAsync(Viewer sender, SendNotificationRequest request, string? idempotencyKey, bool replayOnly, CancellationToken cancellationToken)
    {
        var audience = request.ToAudience();
        SendPolicy.EnsureMaySend(sender, audience);
        await EnsureGroupsExistAsync(audience.Groups, cancellationToken);
        Priorities.TryParse(request.Priority, out var priority);
        var requestHash = idempotencyKey is null ? null : RequestFingerprint.Of(request, audience);

        var notification = new Notification
        {
            Type = request.Type!,
            Title = request.Title!,
            Body = request.Body,
            Data = request.Data is { ValueKind: JsonValueKind.Object } data ? data.GetRawText() : null,
            Priority = priority,
            SenderId = sender.UserId,
            ExpiresAt = request.ExpiresAtAsStored(),
            Everyone = audience.Everyone,
            IdempotencyKey = idempotencyKey,
            RequestHash = requestHash,
            Audience =
            [
                .. audience.Users.Select(u => new NotificationAudience { Kind = AudienceKind.User, Value = u }),
                .. audience.Roles.Select(r => new NotificationAudience { Kind = AudienceKind.Role, Value = r }),
                .. audience.Groups.Select(g => new NotificationAudience { Kind = AudienceKind.Group, Value = g }),
            ],
        };

        var outcome = await gate.SubmitAsync(new PendingSend(notification, cancellationToken, replayOnly, request));
        if (!outcome.Replayed)
        {
            metrics.Sent(notification.Priority);
        }

        return outcome;
    }

    /// <summary>
    /// Group commit: every send in <paramref name="batch"/> in one transaction under one send-order lock, so ids
    /// still commit in order (see docs/delivery.md). Each send gets its own outcome: a replay or a conflict of one
    /// idempotency key does not affect the others. Not cancelled by any one caller: the others are waiting on it.
    /// The same transaction deletes <paramref name="pushedOutboxIds"/> (see <see cref="SendGate.CompletePushed"/>).
    /// </summary>
    internal async Task WriteBatchAsync(IReadOnlyList<PendingSend> batch, IReadOnlyCollection<long> pushedOutboxIds)
    {
        var cancellationToken = CancellationToken.None;
        var inserted = new List<PendingSend>(batch.Count);
        var settled = new List<(PendingSend Send, SendOutcome? Outcome, Exception? Error, PendingSend? ReplayOf)>(batch.Count);
        long[] outboxIds = [];
        // A failed batch is rolled back whole, so EF's savepoint around each SaveChanges only adds round trips
        // (four per batch on PostgreSQL) to the serial write path.
        Db.Database.AutoSavepointsEnabled = false;
        try
        {
            await using (var transaction = await Db.BeginSendTransactionAsync(cancellationToken))
            {
                // The send-order lock is taken here, before any id is drawn, so ids commit in order (see docs/delivery.md).
                var drawn = await Db.BeginSendGroupAsync(pushedOutboxIds, batch.Count, cancellationToken);
                if (batch.Count == 0)
                {
                    await transaction.CommitAsync(cancellationToken);
                    return;
                }

                // Read under the lock, so createdAt grows with the id and the lease starts when the wait is over.
                // Whole microseconds, as every provider stores them: a replay returns exactly the createdAt the first call did.
                var now = StoredTime.ToWholeMicroseconds(time.GetUtcNow().UtcDateTime);
                var stored = await FindStoredKeysAsync(batch, cancellationToken);
                var windowStart = now.AddHours(-idempotency.Value.WindowHours);
                var keysInBatch = new Dictionary<(string Sender, string Key), PendingSend>();
                List<PendingSend>? replaysOnly = null;
                foreach (var send in batch)
                {
                    if (send.ReplayOnly)
                    {
                        // Settled after the others, so a send of the same key stored by this very batch is found too.
                        (replaysOnly ??= []).Add(send);
                        continue;
                    }

                    var notification = send.Notification;
                    if (notification.IdempotencyKey is { } key)
                    {
                        if (keysInBatch.TryGetValue((notification.SenderId, key), out var first))
                        {
                            settled.Add(send.HasPayloadOf(first.Notification.RequestHash)
                                ? (send, null, null, first)
                                : (send, null, new ConflictException("This Idempotency-Key was already used with a different payload."), null));
                            continue;
                        }

                        if (stored.TryGetValue((notification.SenderId, key), out var existing))
                        {
                            if (existing.CreatedAt >= windowStart)
                            {
                                settled.Add(send.HasPayloadOf(existing.RequestHash)
                                    ? (send, new SendOutcome(new SendResult(existing.Id, existing.CreatedAt), Replayed: true), null, null)
                                    : (send, null, new ConflictException("This Idempotency-Key was already used with a different payload."), null));
                                continue;
                            }

                            // The window has passed: the key is free again.
                            await Db.Notifications.Where(n => n.Id == existing.Id)
                                .ExecuteUpdateAsync(s => s.SetProperty(n => n.IdempotencyKey, (string?)null), cancellationToken);
                        }

                        keysInBatch[(notification.SenderId, key)] = send;
                    }

                    notification.CreatedAt = now;
                    inserted.Add(send);
                }

                if (replaysOnly is not null)
                {
                    settled.AddRange(replaysOnly.Select(send => SettleReplayOnly(send, stored, keysInBatch, windowStart)));
                }

                if (inserted.Count > 0)
                {
                    var lease = new OutboxLease(now, now.AddSeconds(outbox.Value.LeaseSeconds), instance.Id);
                    outboxIds = await Db.InsertSendsAsync([.. inserted.Select(s => s.Notification)], lease, drawn, cancellationToken);
                    await HoldForFaultTestAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            Db.ChangeTracker.Clear();
            Db.Database.AutoSavepointsEnabled = true;
        }

        // Pushed in id order, as committed.
        foreach (var (send, outboxId) in inserted.Zip(outboxIds).OrderBy(x => x.First.Notification.Id))
        {
            var notification = send.Notification;
            dispatcher.Enqueue(new PushWork(outboxId, OutboxKind.Send, NotificationDto.From(notification), PushTargets.Of(notification)));
            send.Completion.TrySetResult(new SendOutcome(new SendResult(notification.Id, notification.CreatedAt), Replayed: false));
        }

        foreach (var (send, outcome, error, replayOf) in settled)
        {
            if (error is not null)
            {
                send.Completion.TrySetException(error);
            }
            else if (replayOf is not null)
            {
                send.Completion.TrySetResult(new SendOutcome(new SendResult(replayOf.Notification.Id, replayOf.Notification.CreatedAt), Replayed: true));
            }
            else
            {
                send.Completion.TrySetResult(outcome!);
            }
        }
    }

    /// <summary>
    /// A replay-only send gets the answer of the send stored under its key with the same payload, in this batch or
    /// before it within the window; anything else is no replay. It is never stored, and a key past its window is not
    /// freed by it: its own expiresAt has passed, so it leaves everything as it was.
    /// </summary>
    private static (PendingSend, SendOutcome?, Exception?, PendingSend?) SettleReplayOnly(
        PendingSend send,
        Dictionary<(string Sender, string Key), StoredKey> stored,
        Dictionary<(string Sender, string Key), PendingSend> keysInBatch,
        DateTime windowStart)
    {
        var notification = send.Notification;
        var key = (notification.SenderId, notification.IdempotencyKey!);
        if (keysInBatch.TryGetValue(key, out var first))
        {
            return send.HasPayloadOf(first.Notification.RequestHash) ? (send, null, null, first) : (send, null, new NothingToReplayException(), null);
        }

        return stored.TryGetValue(key, out var existing) && existing.CreatedAt >= windowStart && send.HasPayloadOf(existing.RequestHash)
            ? (send, new SendOutcome(new SendResult(existing.Id, existing.CreatedAt), Replayed: true), null, null)
            : (send, null, new NothingToReplayException(), null);
    }

    /// <summary>Retracts for everyone; pushed like a send, through the outbox.</summary>
    public async Task RetractAsync(Viewer viewer, long id, CancellationToken cancellationToken)
    {
        var notification = await Db.Notifications.Include(n => n.Audience).FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
        if (notification is null || notification.RetractedAt is not null)
        {
            throw new NotFoundException($"Notification {id} was not found.");
        }

        if (!SendPolicy.MayRetract(viewer, notification.SenderId))
        {
            // Someone who may not see it learns nothing about it, as GET /{id} tells them nothing.
            var visible = await services.GetRequiredService<InboxQueries>().VisibleIdsAsync(viewer, [id], cancellationToken);
            throw visible.Count == 0
                ? new NotFoundException($"Notification {id} was not found.")
                : new ForbiddenException("Only an admin or the notification's sender may retract it.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        notification.RetractedAt = now;
        var entry = new OutboxEntry { NotificationId = id, Kind = OutboxKind.Retract, CreatedAt = now, LeaseUntil = now.AddSeconds(outbox.Value.LeaseSeconds), LeasedBy = instance.Id };
        Db.Outbox.Add(entry);
        try
        {
            await Db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is DbUpdateConcurrencyException || StoreFailures.IsForeignKeyViolation(ex))
        {
            // Retention deleted it after it was read above: the update waited on the delete's lock and then found no
            // row, or the outbox entry failed its foreign key. Gone for everyone, as a retracted one is: 404, nothing
            // pushed. Anything else that fails this way, with the notification still stored, is not that race. The
            // failed changes are dropped first, so nothing else saved in this scope writes them again.
            Db.ChangeTracker.Clear();
            if (await Db.Notifications.AnyAsync(n => n.Id == id, cancellationToken))
            {
                throw;
            }

            throw new NotFoundException($"Notification {id} was not found.");
        }

        dispatcher.Enqueue(new PushWork(entry.Id, OutboxKind.Retract, NotificationDto.From(notification), PushTargets.Of(notification)));
    }

    private Task HoldForFaultTestAsync(CancellationToken cancellationToken)
    {
        var maxDelay = faults.Value.SendCommitDelayMs;
        return maxDelay > 0
            ? Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(maxDelay + 1)), time, cancellationToken)
            : Task.CompletedTask;
    }

    private async Task EnsureGroupsExistAsync(IReadOnlyList<string> groups, CancellationToken cancellationToken)
    {
        if (groups.Count == 0)
        {
            return;
        }

        var names = groups.ToArray();
        var known = await Db.Groups.AsNoTracking().Where(g => names.Contains(g.Name)).Select(g => g.Name).ToListAsync(cancellationToken);
        var unknown = names.Except(known, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new NotFoundException($"Unknown group(s) in the audience: {string.Join(", ", unknown)}.");
        }
    }

    /// <summary>
    /// The stored sends behind the batch's idempotency keys, in one query. Under the send-order lock, so a concurrent
    /// replay of the same key waits and then finds the first.
    /// </summary>
    private async Task<Dictionary<(string Sender, string Key), StoredKey>> FindStoredKeysAsync(IReadOnlyList<PendingSend> batch, CancellationToken cancellationToken)
    {
        var keyed = batch.Where(s => s.Notification.IdempotencyKey is not null).Select(s => s.Notification).ToList();
        if (keyed.Count == 0)
        {
            return [];
        }

        var senders = keyed.Select(n => n.SenderId).Distinct().ToArray();
        var keys = keyed.Select(n => n.IdempotencyKey!).Distinct().ToArray();
        var rows = await Db.Notifications
            .Where(n => n.IdempotencyKey != null && keys.Contains(n.IdempotencyKey) && senders.Contains(n.SenderId))
            .Select(n => new { n.SenderId, n.IdempotencyKey, n.Id, n.CreatedAt, n.RequestHash })
            .ToListAsync(cancellationToken);
        return rows.ToDictionary(r => (r.SenderId, r.IdempotencyKey!), r => new StoredKey(r.Id, r.CreatedAt, r.RequestHash));
    }

    private sealed record StoredKey(long Id, DateTime CreatedAt, string? RequestHash);

    /// <summary>A replay-only send found nothing to replay; <see cref="ReplayAsync"/> turns it into null.</summary>
    private sealed class NothingToReplayException() : Exception("No send is stored under this Idempotency-Key with this payload.");
}
