using Npgsql;
using NpgsqlTypes;

namespace Notifications.LoadTest.Seeding;

/// <summary>PostgreSQL: generate_series per chunk, ids drawn as one block from the table's identity sequence.</summary>
public sealed class PostgresBulkSeeder(string connectionString) : BulkSeeder
{
    /// <summary>The service's send-order lock (PostgresNotificationsDbContext): held while seeding, so no send interleaves ids.</summary>
    private const long SendOrderLockKey = 0x4E6F7469665F01;

    private const string Sequence = "pg_get_serial_sequence('\"Notifications\"', 'Id')";

    public override string Provider => "postgres";

    protected override async Task<BulkSeedResult> InsertAsync(SeedShape shape, long endMs, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        if (!await ScalarAsync<bool>(connection, null, "SELECT to_regclass('\"Notifications\"') IS NOT NULL", ct))
        {
            throw NotMigrated(Provider);
        }

        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ScalarAsync<object>(connection, transaction, $"SELECT pg_advisory_xact_lock({SendOrderLockKey})", ct);
        var n = (long)shape.Notifications;

        // nextval claims the block's first id, setval moves past the rest: sends after the seed continue above it.
        var lastId = n == 0
            ? 0
            : await ScalarAsync<long>(connection, transaction, $"SELECT setval({Sequence}, nextval({Sequence}) + @n - 1)", ct, ("n", n));
        var firstId = n == 0 ? 0 : lastId - n + 1;
        var end = DateTime.UnixEpoch.AddMilliseconds(endMs);
        long notifications = 0, audience = 0;
        foreach (var (from, to) in Chunks(n))
        {
            // g is the send's sequence number: id firstId + g, CreatedAt `n - g` ms before the end.
            var rows = await ExecuteAsync(connection, transaction, """
                INSERT INTO "Notifications" ("Id", "Type", "Title", "Body", "Data", "Priority", "SenderId", "CreatedAt",
                    "ExpiresAt", "RetractedAt", "Everyone", "IdempotencyKey", "RequestHash")
                SELECT @first + g, @type, @title, @body, '{"sentAt":0,"seq":' || g || '}', @priority, @sender,
                    @end - (@n - g) * interval '1 millisecond', NULL, NULL, g % 10 = 0, NULL, NULL
                FROM generate_series(@from::bigint, @to::bigint - 1) AS g
                """,
                ct,
                ("first", firstId), ("type", SeedShape.Type), ("title", SeedShape.Title), ("body", shape.Body),
                ("priority", (short)SeedShape.PriorityNormal), ("sender", SeedShape.SenderId), ("end", end), ("n", n),
                ("from", from), ("to", to));
            notifications += rows;
            AddWritten(rows);
            rows = await ExecuteAsync(connection, transaction, """
                INSERT INTO "NotificationAudience" ("NotificationId", "Kind", "Value")
                SELECT @first + g, 0, 'load-user-' || (g * @mult % 4294967296 % @users)
                FROM generate_series(@from::bigint, @to::bigint - 1) AS g
                WHERE g % 10 <> 0
                """,
                ct,
                ("first", firstId), ("mult", SeedShape.UserHashMultiplier), ("users", (long)shape.Users), ("from", from), ("to", to));
            audience += rows;
            AddWritten(rows);
        }

        // The service keeps a tally of broadcasts per block of 4096 ids (BroadcastBuckets) in step with every send;
        // rows written here bypass it, so they are added to it here, in the same transaction.
        await ExecuteAsync(connection, transaction, """
            INSERT INTO "BroadcastBuckets" ("Bucket", "Count")
            SELECT "Id" / 4096, COUNT(*) FROM "Notifications" WHERE "Everyone" AND "Id" BETWEEN @first AND @last GROUP BY "Id" / 4096
            ON CONFLICT ("Bucket") DO UPDATE SET "Count" = "BroadcastBuckets"."Count" + excluded."Count"
            """,
            ct,
            ("first", firstId), ("last", lastId));

        // The service's read-all (PostgresNotificationsDbContext.RaiseWatermarkAsync): the watermark moves only forward,
        // and each user it moves gets the read-all step readers date their notifications by.
        var upTo = shape.FirstHalf > 0
            ? firstId + shape.FirstHalf - 1
            : await ScalarAsync<long>(connection, transaction, "SELECT COALESCE(MAX(\"Id\"), 0) FROM \"Notifications\"", ct);
        var watermarks = await ExecuteAsync(connection, transaction, """
            WITH raised AS (
                INSERT INTO "ReadWatermarks" AS w ("UserId", "UpToId", "ReadAt")
                SELECT 'load-user-' || u, @upTo, @readAt FROM generate_series(0, @users - 1, 2) AS u
                ON CONFLICT ("UserId") DO UPDATE SET "UpToId" = excluded."UpToId", "ReadAt" = GREATEST(w."ReadAt", excluded."ReadAt")
                WHERE w."UpToId" < excluded."UpToId"
                RETURNING w."UserId", w."UpToId", w."ReadAt")
            INSERT INTO "ReadAllSteps" ("UserId", "UpToId", "ReadAt") SELECT "UserId", "UpToId", "ReadAt" FROM raised
            """,
            ct,
            ("upTo", upTo), ("readAt", ReadAtOf(shape, endMs)), ("users", shape.Users));

        // One step per watermark moved: the statement's own count is the steps'.
        AddWritten(2 * watermarks);
        await transaction.CommitAsync(ct);
        return new BulkSeedResult(firstId, lastId, 0, notifications, audience, watermarks, watermarks, 0, 0);
    }

    /// <summary>
    /// VACUUM ANALYZE: a store filled over time would have been vacuumed and analyzed by autovacuum; doing it now keeps
    /// autovacuum (and first-read hint-bit writes) out of the measured phase and gives the planner real statistics.
    /// </summary>
    protected override async Task<long> AfterCommitAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteAsync(connection, null, "VACUUM (ANALYZE) \"Notifications\", \"NotificationAudience\", \"ReadWatermarks\", \"ReadAllSteps\"", ct);
        return await ScalarAsync<long>(connection, null, "SELECT COALESCE(MAX(\"Id\"), 0) FROM \"Notifications\"", ct);
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        // Statements of a 100k-row chunk run for seconds; VACUUM of a large table for longer than Npgsql's default 30 s.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { CommandTimeout = 1800, Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, (string Name, object Value)[] parameters)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.Add(value is DateTime
                ? new NpgsqlParameter(name, NpgsqlDbType.TimestampTz) { Value = value }
                : new NpgsqlParameter(name, value));
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return (T)(await command.ExecuteScalarAsync(ct))!;
    }
}
