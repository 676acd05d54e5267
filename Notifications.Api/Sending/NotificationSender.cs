using System.Security.Cryptography;
using System.Text;
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
    NotificationsDbContext db,
    NotificationDispatcher dispatcher,
    InstanceIdentity instance,
    IOptions<OutboxOptions> outbox,
    IOptions<IdempotencyOptions> idempotency,
    IOptions<SendFaultOptions> faults,
    SendGate gate,
    NotificationsMetrics metrics,
    TimeProvider time)
{
    public async Task<SendOutcome> SendAsync(Viewer sender, SendNotificationRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        var audience = request.ToAudience();
        SendPolicy.EnsureMaySend(sender, audience);
        await EnsureGroupsExistAsync(audience.Groups, cancellationToken);
        Priorities.TryParse(request.Priority, out var priority);
        var requestHash = idempotencyKey is null ? null : HashOf(request);

        var notification = new Notification
        {
            Type = request.Type!,
            Title = request.Title!,
            Body = request.Body,
            Data = request.Data is { ValueKind: JsonValueKind.Object } data ? data.GetRawText() : null,
            Priority = priority,
            SenderId = sender.UserId,
            ExpiresAt = request.ExpiresAt is { } expires ? SendNotificationRequest.ToUtc(expires) : null,
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

        OutboxEntry entry;
        using (await gate.EnterAsync(cancellationToken))
        await using (var transaction = await db.Database.BeginTransactionAsync(cancellationToken))
        {
            // Taken before the ids are drawn, so ids commit in order (see docs/delivery.md).
            await db.AcquireSendOrderLockAsync(cancellationToken);

            // Read under the lock, so createdAt grows with the id and the lease starts when the wait is over.
            // Whole microseconds, as every provider stores them: a replay returns exactly the createdAt the first call did.
            var now = TruncateToMicroseconds(time.GetUtcNow().UtcDateTime);
            notification.CreatedAt = now;
            entry = new OutboxEntry { Kind = OutboxKind.Send, CreatedAt = now, LeaseUntil = now.AddSeconds(outbox.Value.LeaseSeconds), LeasedBy = instance.Id };
            if (idempotencyKey is not null && await FindReplayAsync(sender.UserId, idempotencyKey, requestHash!, now, cancellationToken) is { } replay)
            {
                return new SendOutcome(replay, Replayed: true);
            }

            db.Notifications.Add(notification);
            await db.SaveChangesAsync(cancellationToken);
            entry.NotificationId = notification.Id;
            db.Outbox.Add(entry);
            await db.SaveChangesAsync(cancellationToken);
            await HoldForFaultTestAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }

        db.ChangeTracker.Clear();
        dispatcher.Enqueue(new PushWork(entry.Id, OutboxKind.Send, NotificationDto.From(notification), PushTargets.Of(notification)));
        metrics.Sent(notification.Priority);
        return new SendOutcome(new SendResult(notification.Id, notification.CreatedAt), Replayed: false);
    }

    /// <summary>Retracts for everyone; pushed like a send, through the outbox.</summary>
    public async Task RetractAsync(Viewer viewer, long id, CancellationToken cancellationToken)
    {
        var notification = await db.Notifications.Include(n => n.Audience).FirstOrDefaultAsync(n => n.Id == id, cancellationToken);
        if (notification is null || notification.RetractedAt is not null)
        {
            throw new NotFoundException($"Notification {id} was not found.");
        }

        if (!SendPolicy.MayRetract(viewer, notification.SenderId))
        {
            throw new ForbiddenException("Only an admin or the notification's sender may retract it.");
        }

        var now = time.GetUtcNow().UtcDateTime;
        notification.RetractedAt = now;
        var entry = new OutboxEntry { NotificationId = id, Kind = OutboxKind.Retract, CreatedAt = now, LeaseUntil = now.AddSeconds(outbox.Value.LeaseSeconds), LeasedBy = instance.Id };
        db.Outbox.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
        dispatcher.Enqueue(new PushWork(entry.Id, OutboxKind.Retract, NotificationDto.From(notification), PushTargets.Of(notification)));
    }

    private static DateTime TruncateToMicroseconds(DateTime value) =>
        new(value.Ticks - (value.Ticks % (TimeSpan.TicksPerMillisecond / 1000)), DateTimeKind.Utc);

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
        var known = await db.Groups.AsNoTracking().Where(g => names.Contains(g.Name)).Select(g => g.Name).ToListAsync(cancellationToken);
        var unknown = names.Except(known, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            throw new NotFoundException($"Unknown group(s) in the audience: {string.Join(", ", unknown)}.");
        }
    }

    /// <summary>Under the send-order lock, so a concurrent replay of the same key waits and then finds the first.</summary>
    private async Task<SendResult?> FindReplayAsync(string senderId, string key, string requestHash, DateTime now, CancellationToken cancellationToken)
    {
        var existing = await db.Notifications
            .Where(n => n.SenderId == senderId && n.IdempotencyKey == key)
            .Select(n => new { n.Id, n.CreatedAt, n.RequestHash })
            .FirstOrDefaultAsync(cancellationToken);
        if (existing is null)
        {
            return null;
        }

        if (existing.CreatedAt < now.AddHours(-idempotency.Value.WindowHours))
        {
            // The window has passed: the key is free again.
            await db.Notifications.Where(n => n.Id == existing.Id).ExecuteUpdateAsync(s => s.SetProperty(n => n.IdempotencyKey, (string?)null), cancellationToken);
            return null;
        }

        return existing.RequestHash == requestHash
            ? new SendResult(existing.Id, existing.CreatedAt)
            : throw new ConflictException("This Idempotency-Key was already used with a different payload.");
    }

    private static string HashOf(SendNotificationRequest request) =>
        Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request))));
}
