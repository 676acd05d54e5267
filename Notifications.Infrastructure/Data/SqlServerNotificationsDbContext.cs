using System.Text.Json;
using Microsoft.EntityFrameworkCore;

namespace Notifications.Infrastructure.Data;

public sealed class SqlServerNotificationsDbContext(DbContextOptions<SqlServerNotificationsDbContext> options) : NotificationsDbContext(options)
{
    /// <summary>
    /// sp_getapplock reports a lock it did not grant (a timeout, a cancel, a deadlock, an error) only through its
    /// return value, so a send group that went on would commit without the lock: ids out of order, idempotency lookups
    /// and the broadcast tally's "update, else insert" unguarded. THROW turns that into an error the send transaction
    /// is rolled back on, and its number (not a data error) makes it a store outage, a 503 (see
    /// <see cref="StoreFailures"/>).
    /// </summary>
    public override Task AcquireSendOrderLockAsync(CancellationToken cancellationToken) =>
        Database.ExecuteSqlRawAsync(
            """
            DECLARE @result int;
            EXEC @result = sp_getapplock @Resource = N'notifications.send-order', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = 30000;
            IF @result < 0
            BEGIN
                DECLARE @message nvarchar(200) = CONCAT(N'The send-order lock was not granted: sp_getapplock returned ', @result, N'.');
                THROW 50001, @message, 1;
            END;
            """,
            cancellationToken);

    // OUTPUT INTO writes the step only for the row the MERGE changed, in the same statement; HOLDLOCK orders one user's read-alls.
    public override Task RaiseWatermarkAsync(string userId, long upToId, DateTime at, CancellationToken cancellationToken) =>
        Database.ExecuteSqlRawAsync(
            """
            MERGE [ReadWatermarks] WITH (HOLDLOCK) AS t
            USING (SELECT {0} AS [UserId]) AS s ON t.[UserId] = s.[UserId]
            WHEN MATCHED AND t.[UpToId] < {1} THEN UPDATE SET [UpToId] = {1}, [ReadAt] = CASE WHEN t.[ReadAt] > {2} THEN t.[ReadAt] ELSE {2} END
            WHEN NOT MATCHED THEN INSERT ([UserId], [UpToId], [ReadAt]) VALUES ({0}, {1}, {2})
            OUTPUT inserted.[UserId], inserted.[UpToId], inserted.[ReadAt] INTO [ReadAllSteps] ([UserId], [UpToId], [ReadAt]);
            """,
            [userId, upToId, at],
            cancellationToken);

    public override Task UpsertReceiptsAsync(string userId, IReadOnlyCollection<long> notificationIds, ReceiptField field, DateTime at, CancellationToken cancellationToken)
    {
        if (notificationIds.Count == 0)
        {
            return Task.CompletedTask;
        }

        var column = ColumnOf(field);
        var sql = $"""
            MERGE [Receipts] WITH (HOLDLOCK) AS t
            USING (SELECT CAST([value] AS bigint) AS [NotificationId] FROM OPENJSON({"{2}"})) AS s
            ON t.[UserId] = {"{0}"} AND t.[NotificationId] = s.[NotificationId]
            WHEN MATCHED AND t.[{column}] IS NULL THEN UPDATE SET [{column}] = {"{1}"}
            WHEN NOT MATCHED THEN INSERT ([UserId], [NotificationId], [{column}]) VALUES ({"{0}"}, s.[NotificationId], {"{1}"});
            """;
        return Database.ExecuteSqlRawAsync(sql, [userId, at, JsonSerializer.Serialize(notificationIds)], cancellationToken);
    }

    protected override Task<List<DeletedNotification>> DeleteReturningAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        Database.SqlQueryRaw<DeletedNotification>(
            """
            DELETE FROM [Notifications]
            OUTPUT DELETED.[Id], DELETED.[Everyone]
            WHERE [Id] IN (SELECT CAST([value] AS bigint) FROM OPENJSON({0}))
            """,
            [JsonSerializer.Serialize(ids)]).ToListAsync(cancellationToken);
}
