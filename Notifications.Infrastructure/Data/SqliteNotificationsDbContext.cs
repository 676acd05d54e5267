using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Notifications.Infrastructure.Data;

public sealed class SqliteNotificationsDbContext(DbContextOptions<SqliteNotificationsDbContext> options) : NotificationsDbContext(options)
{
    // SQLite has one writer at a time and transactions begin IMMEDIATE, so ids already commit in order.
    public override Task AcquireSendOrderLockAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override Task UpsertReceiptsAsync(string userId, IReadOnlyCollection<long> notificationIds, ReceiptField field, DateTime at, CancellationToken cancellationToken)
    {
        if (notificationIds.Count == 0)
        {
            return Task.CompletedTask;
        }

        var column = ColumnOf(field);
        var sql = $"""
            INSERT INTO "Receipts" ("UserId", "NotificationId", "{column}")
            SELECT {"{0}"}, "value", {"{1}"} FROM json_each({"{2}"}) WHERE true
            ON CONFLICT ("UserId", "NotificationId") DO UPDATE SET "{column}" = COALESCE("Receipts"."{column}", excluded."{column}")
            """;
        return Database.ExecuteSqlRawAsync(sql, [userId, at, JsonSerializer.Serialize(notificationIds)], cancellationToken);
    }
}
