using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Notifications.Infrastructure.Data;

public sealed class SqliteNotificationsDbContext(DbContextOptions<SqliteNotificationsDbContext> options) : NotificationsDbContext(options)
{
    // Physical connections that already carry the send PRAGMAs, by native handle (see BeginSendTransactionAsync).
    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, string> TunedForSends = [];

    /// <summary>
    /// WAL with synchronous=NORMAL stays consistent after a crash and loses at most the last commits on power loss;
    /// FULL (the default) fsyncs every commit, which caps sends at the disk's fsync rate. Checkpoints are left to
    /// <see cref="SqliteWalCheckpointer"/>, off the send path. Both are per-connection settings that cannot change
    /// inside a transaction, so they are set here; pooled connections keep them. The busy timeout makes a send that
    /// finds the log being restarted (or another writer) wait inside SQLite, which retries within milliseconds;
    /// without one, Microsoft.Data.Sqlite retries a busy statement after sleeping its thread for 150 ms.
    /// They are set once per physical connection (tracked by its native handle, which lives as long as the pooled
    /// connection): three statements prepared and run for every group of sends were a fixed cost of the serial writer.
    /// </summary>
    public override async Task<IDbContextTransaction> BeginSendTransactionAsync(CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = (SqliteConnection)Database.GetDbConnection();
            if (!TunedForSends.TryGetValue(connection.Handle!, out _))
            {
                await using var tune = connection.CreateCommand();
                tune.CommandText = "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA busy_timeout=30000;";
                await tune.ExecuteNonQueryAsync(cancellationToken);
                TunedForSends.TryAdd(connection.Handle!, "tuned");
            }

            return await Database.BeginTransactionAsync(cancellationToken);
        }
        finally
        {
            // The transaction holds the connection open until it ends; this only hands back our own open.
            await Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// A consistent view for a read made of several statements: <c>BEGIN DEFERRED</c> takes no lock, and in WAL mode
    /// the first read fixes what every later statement of the transaction sees while the writer goes on. Disposing it
    /// ends the transaction (nothing was written) and hands the connection back.
    /// </summary>
    public async Task<IAsyncDisposable> BeginReadSnapshotAsync(CancellationToken cancellationToken)
    {
        await Database.OpenConnectionAsync(cancellationToken);
        SqliteTransaction? transaction = null;
        try
        {
            transaction = ((SqliteConnection)Database.GetDbConnection()).BeginTransaction(deferred: true);
            await Database.UseTransactionAsync(transaction, cancellationToken);
            return new ReadSnapshot(this, transaction);
        }
        catch
        {
            if (transaction is not null)
            {
                await transaction.DisposeAsync();
            }

            await Database.CloseConnectionAsync();
            throw;
        }
    }

    private sealed class ReadSnapshot(SqliteNotificationsDbContext db, SqliteTransaction transaction) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await db.Database.UseTransactionAsync(null);
            await transaction.DisposeAsync();
            await db.Database.CloseConnectionAsync();
        }
    }

    // SQLite has one writer at a time and transactions begin IMMEDIATE, so ids already commit in order.
    public override Task AcquireSendOrderLockAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>
    /// Deletes pushed outbox entries with one statement prepared once and run per id. The LINQ delete it replaces
    /// built and looked up a query for every group of sends: 15 % of the serial writer's time in S4.
    /// </summary>
    public override async Task<DrawnIds?> BeginSendGroupAsync(IReadOnlyCollection<long> pushedOutboxIds, int sends, CancellationToken cancellationToken)
    {
        if (pushedOutboxIds.Count == 0)
        {
            return null;
        }

        var transaction = Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("A send group begins inside the send transaction.");
        await using var delete = Command(Database.GetDbConnection(), transaction, """DELETE FROM "Outbox" WHERE "Id" = $id""");
        var id = Parameter(delete, "$id");
        foreach (var outboxId in pushedOutboxIds)
        {
            id.Value = outboxId;
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        return null;
    }

    /// <summary>
    /// Three statements, each prepared once and run per row: SQLite runs in process, so a row costs a bind and a
    /// step, not a round trip, and RETURNING gives each notification its id as it is written.
    /// </summary>
    public override async Task<long[]> InsertSendsAsync(IReadOnlyList<Notification> notifications, OutboxLease lease, DrawnIds? drawn, CancellationToken cancellationToken)
    {
        var connection = Database.GetDbConnection();
        var transaction = Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Sends are inserted inside the send transaction.");
        await using var insertNotification = Command(connection, transaction, """
            INSERT INTO "Notifications" ("Type", "Title", "Body", "Data", "Priority", "SenderId", "CreatedAt", "ExpiresAt", "Everyone", "IdempotencyKey", "RequestHash")
            VALUES ($type, $title, $body, $data, $priority, $sender, $createdAt, $expiresAt, $everyone, $key, $hash)
            RETURNING "Id"
            """);
        await using var insertAudience = Command(connection, transaction, """
            INSERT INTO "NotificationAudience" ("NotificationId", "Kind", "Value") VALUES ($id, $kind, $value)
            """);
        await using var insertOutbox = Command(connection, transaction, """
            INSERT INTO "Outbox" ("NotificationId", "Kind", "CreatedAt", "LeaseUntil", "LeasedBy")
            VALUES ($id, $kind, $createdAt, $leaseUntil, $leasedBy)
            RETURNING "Id"
            """);

        var type = Parameter(insertNotification, "$type");
        var title = Parameter(insertNotification, "$title");
        var body = Parameter(insertNotification, "$body");
        var data = Parameter(insertNotification, "$data");
        var priority = Parameter(insertNotification, "$priority");
        var sender = Parameter(insertNotification, "$sender");
        var createdAt = Parameter(insertNotification, "$createdAt");
        var expiresAt = Parameter(insertNotification, "$expiresAt");
        var everyone = Parameter(insertNotification, "$everyone");
        var key = Parameter(insertNotification, "$key");
        var hash = Parameter(insertNotification, "$hash");
        var audienceId = Parameter(insertAudience, "$id");
        var audienceKind = Parameter(insertAudience, "$kind");
        var audienceValue = Parameter(insertAudience, "$value");
        var outboxNotificationId = Parameter(insertOutbox, "$id");
        Parameter(insertOutbox, "$kind", (byte)OutboxKind.Send);
        Parameter(insertOutbox, "$createdAt", lease.CreatedAt);
        Parameter(insertOutbox, "$leaseUntil", lease.LeaseUntil);
        Parameter(insertOutbox, "$leasedBy", lease.LeasedBy);

        var outboxIds = new long[notifications.Count];
        for (var i = 0; i < notifications.Count; i++)
        {
            var notification = notifications[i];
            type.Value = notification.Type;
            title.Value = notification.Title;
            body.Value = ValueOf(notification.Body);
            data.Value = ValueOf(notification.Data);
            priority.Value = (byte)notification.Priority;
            sender.Value = notification.SenderId;
            createdAt.Value = notification.CreatedAt;
            expiresAt.Value = ValueOf(notification.ExpiresAt);
            everyone.Value = notification.Everyone;
            key.Value = ValueOf(notification.IdempotencyKey);
            hash.Value = ValueOf(notification.RequestHash);
            notification.Id = (long)(await insertNotification.ExecuteScalarAsync(cancellationToken))!;

            foreach (var member in notification.Audience)
            {
                member.NotificationId = notification.Id;
                audienceId.Value = notification.Id;
                audienceKind.Value = (byte)member.Kind;
                audienceValue.Value = member.Value;
                await insertAudience.ExecuteNonQueryAsync(cancellationToken);
            }

            outboxNotificationId.Value = notification.Id;
            outboxIds[i] = (long)(await insertOutbox.ExecuteScalarAsync(cancellationToken))!;
        }

        await CountBroadcastsAsync(connection, transaction, notifications, cancellationToken);
        return outboxIds;
    }

    /// <summary>
    /// Adds the group's broadcasts to their <see cref="BroadcastBucket"/> rows: one upsert per block touched, prepared
    /// once. The LINQ update (and insert) it replaces built and looked up a query for every group with a broadcast.
    /// </summary>
    private static async Task CountBroadcastsAsync(DbConnection connection, DbTransaction transaction, IReadOnlyList<Notification> notifications, CancellationToken cancellationToken)
    {
        var blocks = notifications.Where(n => n.Everyone).CountBy(n => BroadcastBucket.Of(n.Id)).ToList();
        if (blocks.Count == 0)
        {
            return;
        }

        await using var upsert = Command(connection, transaction, """
            INSERT INTO "BroadcastBuckets" ("Bucket", "Count") VALUES ($bucket, $added)
            ON CONFLICT ("Bucket") DO UPDATE SET "Count" = "Count" + excluded."Count"
            """);
        var bucket = Parameter(upsert, "$bucket");
        var added = Parameter(upsert, "$added");
        foreach (var (block, count) in blocks)
        {
            bucket.Value = block;
            added.Value = (long)count;
            await upsert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>
    /// SQLite has no INSERT inside WITH, so the step is a second statement, copied from the watermark when the upsert
    /// moved it. Both run in one write transaction (IMMEDIATE): no other read-all can move the watermark in between,
    /// so the step copied is this call's. <c>max</c> compares the times as the TEXT EF Core writes, which sorts as time.
    /// </summary>
    public override async Task RaiseWatermarkAsync(string userId, long upToId, DateTime at, CancellationToken cancellationToken)
    {
        await using var transaction = await Database.BeginTransactionAsync(cancellationToken);
        var raised = await Database.ExecuteSqlRawAsync(
            """
            INSERT INTO "ReadWatermarks" ("UserId", "UpToId", "ReadAt") VALUES ({0}, {1}, {2})
            ON CONFLICT ("UserId") DO UPDATE SET "UpToId" = excluded."UpToId", "ReadAt" = max("ReadWatermarks"."ReadAt", excluded."ReadAt")
            WHERE "ReadWatermarks"."UpToId" < excluded."UpToId"
            """,
            [userId, upToId, at],
            cancellationToken);
        if (raised > 0)
        {
            await Database.ExecuteSqlRawAsync(
                """
                INSERT INTO "ReadAllSteps" ("UserId", "UpToId", "ReadAt")
                SELECT "UserId", "UpToId", "ReadAt" FROM "ReadWatermarks" WHERE "UserId" = {0}
                """,
                [userId],
                cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

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

    protected override Task<List<DeletedNotification>> DeleteReturningAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        Database.SqlQueryRaw<DeletedNotification>(
            """
            DELETE FROM "Notifications" WHERE "Id" IN (SELECT "value" FROM json_each({0}))
            RETURNING "Id", "Everyone"
            """,
            [JsonSerializer.Serialize(ids)]).ToListAsync(cancellationToken);

    private static DbCommand Command(DbConnection connection, DbTransaction transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private static DbParameter Parameter(DbCommand command, string name, object? value = null)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = ValueOf(value);
        command.Parameters.Add(parameter);
        return parameter;
    }

    private static object ValueOf(object? value) => value ?? DBNull.Value;
}
