using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Notifications.Infrastructure.Data;

public sealed class SqliteNotificationsDbContext(DbContextOptions<SqliteNotificationsDbContext> options) : NotificationsDbContext(options)
{
    /// <summary>
    /// WAL with synchronous=NORMAL stays consistent after a crash and loses at most the last commits on power loss;
    /// FULL (the default) fsyncs every commit, which caps sends at the disk's fsync rate. It is a per-connection
    /// setting that cannot change inside a transaction, so it is set here; pooled connections keep it.
    /// </summary>
    public override async Task<IDbContextTransaction> BeginSendTransactionAsync(CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await Database.ExecuteSqlRawAsync("PRAGMA synchronous=NORMAL;", cancellationToken);
            return await Database.BeginTransactionAsync(cancellationToken);
        }
        finally
        {
            // The transaction holds the connection open until it ends; this only hands back our own open.
            await Database.CloseConnectionAsync();
        }
    }

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
