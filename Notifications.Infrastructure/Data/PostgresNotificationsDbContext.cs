using Microsoft.EntityFrameworkCore;

namespace Notifications.Infrastructure.Data;

public sealed class PostgresNotificationsDbContext(DbContextOptions<PostgresNotificationsDbContext> options) : NotificationsDbContext(options)
{
    private const long SendOrderLockKey = 0x4E6F7469665F01;

    public override Task AcquireSendOrderLockAsync(CancellationToken cancellationToken) =>
        Database.ExecuteSqlRawAsync($"SELECT pg_advisory_xact_lock({SendOrderLockKey})", cancellationToken);

    public override Task UpsertReceiptsAsync(string userId, IReadOnlyCollection<long> notificationIds, ReceiptField field, DateTime at, CancellationToken cancellationToken)
    {
        if (notificationIds.Count == 0)
        {
            return Task.CompletedTask;
        }

        var column = ColumnOf(field);
        var sql = $"""
            INSERT INTO "Receipts" ("UserId", "NotificationId", "{column}")
            SELECT {"{0}"}, x, {"{1}"} FROM unnest({"{2}"}) AS x
            ON CONFLICT ("UserId", "NotificationId") DO UPDATE SET "{column}" = COALESCE("Receipts"."{column}", EXCLUDED."{column}")
            """;
        return Database.ExecuteSqlRawAsync(sql, [userId, at, notificationIds.ToArray()], cancellationToken);
    }
}
