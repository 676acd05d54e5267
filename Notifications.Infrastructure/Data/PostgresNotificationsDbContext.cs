using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace Notifications.Infrastructure.Data;

public sealed class PostgresNotificationsDbContext(DbContextOptions<PostgresNotificationsDbContext> options) : NotificationsDbContext(options)
{
    private const long SendOrderLockKey = 0x4E6F7469665F01;

    private static readonly string TakeSendOrderLock = $"SELECT pg_advisory_xact_lock({SendOrderLockKey})";

    private const long MigrationLockKey = 0x4E6F7469665F02;

    /// <summary>
    /// The send group's statements are prepared, but PostgreSQL kept planning them on every run: their custom plans
    /// look cheaper than the generic one, which is costed for any array length and id count. Every plan is the same
    /// index or sequence work whatever the values, so the generic plan is forced, for the send transaction only
    /// (reads keep their own choice: the unread broadcast count wants its custom plan).
    /// </summary>
    private const string GenericPlansForThisTransaction = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)";

    /// <summary>
    /// A session advisory lock for the whole migration run. Npgsql's own migration lock lives for one migration's
    /// transaction, while the list of pending migrations is read once before: two instances starting together on
    /// one database both applied the second migration, and one failed to start.
    /// </summary>
    public override async Task<IAsyncDisposable> AcquireMigrationLockAsync(CancellationToken cancellationToken)
    {
        // The lock needs a connection, and the connection needs the database: create it (empty) as Migrate would.
        var creator = this.GetService<IRelationalDatabaseCreator>();
        if (!await creator.ExistsAsync(cancellationToken))
        {
            try
            {
                await creator.CreateAsync(cancellationToken);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DuplicateDatabase)
            {
                // Another instance created it first.
            }
        }

        await Database.OpenConnectionAsync(cancellationToken);
        try
        {
            // Polled rather than waited for, so a long migration elsewhere cannot hit this command's timeout.
            while (!await Database.SqlQueryRaw<bool>($"SELECT pg_try_advisory_lock({MigrationLockKey}) AS \"Value\"").SingleAsync(cancellationToken))
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }
        catch
        {
            await Database.CloseConnectionAsync();
            throw;
        }

        return new MigrationLock(this);
    }

    public override Task AcquireSendOrderLockAsync(CancellationToken cancellationToken) =>
        Database.ExecuteSqlRawAsync(TakeSendOrderLock, cancellationToken);

    /// <summary>
    /// One round trip before the group's rows: the delete of pushed outbox entries, the send-order lock, and the draw
    /// of the group's notification and outbox ids (in order: nobody else draws notification ids while the lock is
    /// held). Sends dropped later (idempotent replays) leave their drawn ids as gaps.
    /// </summary>
    public override async Task<DrawnIds?> BeginSendGroupAsync(IReadOnlyCollection<long> pushedOutboxIds, int sends, CancellationToken cancellationToken)
    {
        var (connection, transaction) = SendConnection();
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(GenericPlansForThisTransaction));
        if (pushedOutboxIds.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("""DELETE FROM "Outbox" WHERE "Id" = ANY($1)""")
            {
                Parameters = { ArrayOf(NpgsqlDbType.Bigint, pushedOutboxIds.ToArray()) },
            });
        }

        if (sends == 0)
        {
            if (pushedOutboxIds.Count > 0)
            {
                await batch.ExecuteNonQueryAsync(cancellationToken);
            }

            return null;
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand(TakeSendOrderLock));
        batch.BatchCommands.Add(DrawIdsCommand(sends));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        DrawnIds? drawn = null;
        do
        {
            if (reader.FieldCount == 2)
            {
                drawn = await ReadDrawnIdsAsync(reader, sends, cancellationToken);
            }
        }
        while (await reader.NextResultAsync(cancellationToken));

        return drawn ?? throw new InvalidOperationException("The id draw returned no rows.");
    }

    /// <summary>
    /// One round trip for the whole group, with the ids <see cref="BeginSendGroupAsync"/> drew for it: one batch
    /// writes every row through unnest, with the ids given, and adds the broadcasts to their blocks' tallies.
    /// </summary>
    public override async Task<long[]> InsertSendsAsync(IReadOnlyList<Notification> notifications, OutboxLease lease, DrawnIds? drawn, CancellationToken cancellationToken)
    {
        var (connection, transaction) = SendConnection();
        var count = notifications.Count;
        if (drawn is null || drawn.Count < count)
        {
            throw new InvalidOperationException($"BeginSendGroupAsync draws the ids of a group before its {count} sends are inserted.");
        }

        var ids = drawn.NotificationIds[..count];
        var outboxIds = drawn.OutboxIds[..count];
        var audienceIds = new List<long>();
        var audienceKinds = new List<short>();
        var audienceValues = new List<string>();
        for (var i = 0; i < count; i++)
        {
            var notification = notifications[i];
            notification.Id = ids[i];
            foreach (var member in notification.Audience)
            {
                member.NotificationId = ids[i];
                audienceIds.Add(ids[i]);
                audienceKinds.Add((short)member.Kind);
                audienceValues.Add(member.Value);
            }
        }

        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO "Notifications" ("Id", "Type", "Title", "Body", "Data", "Priority", "SenderId", "CreatedAt", "ExpiresAt", "Everyone", "IdempotencyKey", "RequestHash")
            SELECT u.id, u.type, u.title, u.body, u.data, u.priority, u.sender, u.created, u.expires, u.everyone, u.key, u.hash
            FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                AS u (id, type, title, body, data, priority, sender, created, expires, everyone, key, hash)
            """)
        {
            Parameters =
            {
                ArrayOf(NpgsqlDbType.Bigint, ids),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.Type).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.Title).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.Body).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.Data).ToArray()),
                ArrayOf(NpgsqlDbType.Smallint, notifications.Select(n => (short)n.Priority).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.SenderId).ToArray()),
                ArrayOf(NpgsqlDbType.TimestampTz, notifications.Select(n => n.CreatedAt).ToArray()),
                ArrayOf(NpgsqlDbType.TimestampTz, notifications.Select(n => n.ExpiresAt).ToArray()),
                ArrayOf(NpgsqlDbType.Boolean, notifications.Select(n => n.Everyone).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.IdempotencyKey).ToArray()),
                ArrayOf(NpgsqlDbType.Text, notifications.Select(n => n.RequestHash).ToArray()),
            },
        });
        if (audienceIds.Count > 0)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                INSERT INTO "NotificationAudience" ("NotificationId", "Kind", "Value")
                SELECT * FROM unnest($1, $2, $3)
                """)
            {
                Parameters =
                {
                    ArrayOf(NpgsqlDbType.Bigint, audienceIds.ToArray()),
                    ArrayOf(NpgsqlDbType.Smallint, audienceKinds.ToArray()),
                    ArrayOf(NpgsqlDbType.Text, audienceValues.ToArray()),
                },
            });
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand(
            """
            INSERT INTO "Outbox" ("Id", "NotificationId", "Kind", "CreatedAt", "LeaseUntil", "LeasedBy")
            SELECT u.id, u.notification, $3, $4, $5, $6 FROM unnest($1, $2) AS u (id, notification)
            """)
        {
            Parameters =
            {
                ArrayOf(NpgsqlDbType.Bigint, outboxIds),
                ArrayOf(NpgsqlDbType.Bigint, ids),
                new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint, Value = (short)OutboxKind.Send },
                new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = lease.CreatedAt },
                new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = lease.LeaseUntil },
                new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = lease.LeasedBy },
            },
        });
        var broadcastBlocks = notifications.Where(n => n.Everyone).Select(n => BroadcastBucket.Of(n.Id)).ToArray();
        if (broadcastBlocks.Length > 0)
        {
            // The group's broadcasts, added to their blocks' tallies in the same round trip.
            batch.BatchCommands.Add(new NpgsqlBatchCommand(
                """
                INSERT INTO "BroadcastBuckets" ("Bucket", "Count")
                SELECT b, count(*) FROM unnest($1) AS b GROUP BY b
                ON CONFLICT ("Bucket") DO UPDATE SET "Count" = "BroadcastBuckets"."Count" + excluded."Count"
                """)
            {
                Parameters = { ArrayOf(NpgsqlDbType.Bigint, broadcastBlocks) },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        return outboxIds;
    }

    private (NpgsqlConnection Connection, NpgsqlTransaction Transaction) SendConnection() =>
        ((NpgsqlConnection)Database.GetDbConnection(),
         (NpgsqlTransaction)(Database.CurrentTransaction?.GetDbTransaction()
            ?? throw new InvalidOperationException("Sends are written inside the send transaction.")));

    // The sequences are looked up once per draw, not per row: in the select list, pg_get_serial_sequence would read
    // the catalog for every id drawn (13 µs a row here, against 1.3 µs).
    private static NpgsqlBatchCommand DrawIdsCommand(int count) =>
        new("""
            WITH s AS MATERIALIZED (
                SELECT pg_get_serial_sequence('"Notifications"', 'Id')::regclass AS notifications,
                       pg_get_serial_sequence('"Outbox"', 'Id')::regclass AS outbox)
            SELECT nextval(s.notifications), nextval(s.outbox) FROM s, generate_series(1, $1)
            """)
        {
            Parameters = { new NpgsqlParameter { Value = count } },
        };

    private static async Task<DrawnIds> ReadDrawnIdsAsync(NpgsqlDataReader reader, int count, CancellationToken cancellationToken)
    {
        var ids = new long[count];
        var outboxIds = new long[count];
        for (var i = 0; await reader.ReadAsync(cancellationToken); i++)
        {
            ids[i] = reader.GetInt64(0);
            outboxIds[i] = reader.GetInt64(1);
        }

        // Ascending in list order, as callers expect, whatever order the rows came back in.
        System.Array.Sort(ids);
        System.Array.Sort(outboxIds);
        return new DrawnIds(ids, outboxIds);
    }

    /// <summary>
    /// One statement: the step is inserted from the upsert's RETURNING, which returns a row only when the watermark
    /// moved. A concurrent read-all of the same user waits on the watermark row and re-checks the condition against
    /// the committed row, so it adds no step unless it still reaches further.
    /// </summary>
    public override Task RaiseWatermarkAsync(string userId, long upToId, DateTime at, CancellationToken cancellationToken) =>
        Database.ExecuteSqlRawAsync(
            """
            WITH raised AS (
                INSERT INTO "ReadWatermarks" AS w ("UserId", "UpToId", "ReadAt") VALUES ({0}, {1}, {2})
                ON CONFLICT ("UserId") DO UPDATE SET "UpToId" = excluded."UpToId", "ReadAt" = GREATEST(w."ReadAt", excluded."ReadAt")
                WHERE w."UpToId" < excluded."UpToId"
                RETURNING w."UserId", w."UpToId", w."ReadAt")
            INSERT INTO "ReadAllSteps" ("UserId", "UpToId", "ReadAt") SELECT "UserId", "UpToId", "ReadAt" FROM raised
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
            INSERT INTO "Receipts" ("UserId", "NotificationId", "{column}")
            SELECT {"{0}"}, x, {"{1}"} FROM unnest({"{2}"}) AS x
            ON CONFLICT ("UserId", "NotificationId") DO UPDATE SET "{column}" = COALESCE("Receipts"."{column}", EXCLUDED."{column}")
            """;
        return Database.ExecuteSqlRawAsync(sql, [userId, at, notificationIds.ToArray()], cancellationToken);
    }

    protected override Task<List<DeletedNotification>> DeleteReturningAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        Database.SqlQueryRaw<DeletedNotification>(
            """
            DELETE FROM "Notifications" WHERE "Id" = ANY({0})
            RETURNING "Id", "Everyone"
            """,
            [ids.ToArray()]).ToListAsync(cancellationToken);

    private static NpgsqlParameter ArrayOf<T>(NpgsqlDbType elementType, T[] values) =>
        new() { NpgsqlDbType = NpgsqlDbType.Array | elementType, Value = values };

    private sealed class MigrationLock(PostgresNotificationsDbContext db) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            try
            {
                await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})");
            }
            catch
            {
                // Pooled connections are not reset (No Reset On Close): clear the pool so this connection, which may
                // still hold the lock, is closed instead of reused. Startup only, and only when the unlock failed.
                NpgsqlConnection.ClearPool((NpgsqlConnection)db.Database.GetDbConnection());
                throw;
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
        }
    }
}
