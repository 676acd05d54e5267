using Microsoft.Data.Sqlite;

namespace Notifications.LoadTest.Seeding;

/// <summary>
/// SQLite: a recursive CTE per chunk. Times are TEXT as EF Core writes them ('yyyy-MM-dd HH:mm:ss.FFFFFFF', UTC:
/// trailing zeros of the fraction dropped, and the dot with them), booleans and enums INTEGER.
/// </summary>
public sealed class SqliteBulkSeeder(string connectionString) : BulkSeeder
{
    /// <summary>Seconds a statement waits for the service's writer (Microsoft.Data.Sqlite retries SQLITE_BUSY that long).</summary>
    private const int BusySeconds = 600;

    /// <summary>Sequence numbers <c>@from</c> … <c>@to - 1</c> as g, each with its CreatedAt in Unix ms as t.</summary>
    private const string Series = """
        WITH RECURSIVE s(g) AS (SELECT @from UNION ALL SELECT g + 1 FROM s WHERE g + 1 < @to),
            r(g, t) AS (SELECT g, @end - (@n - g) FROM s)
        """;

    /// <summary>t (whole Unix ms) in EF Core's text form: the fraction has no trailing zeros, and no dot when it is zero.</summary>
    private const string CreatedAtText = """
        strftime('%Y-%m-%d %H:%M:%S', t / 1000, 'unixepoch')
            || CASE WHEN t % 1000 = 0 THEN '' ELSE '.' || rtrim(printf('%03d', t % 1000), '0') END
        """;

    public override string Provider => "sqlite";

    protected override async Task<BulkSeedResult> InsertAsync(SeedShape shape, long endMs, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        if (await ScalarAsync(connection, null, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'Notifications'", ct) == 0)
        {
            throw NotMigrated(Provider);
        }

        // Per connection: the service's own connections keep their settings. A big cache keeps the index b-trees in memory.
        await ExecuteAsync(connection, null, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-262144; PRAGMA temp_store=MEMORY;", ct);

        // IMMEDIATE (the Microsoft.Data.Sqlite default): the service's sends wait, so no id lands inside the block.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        var n = (long)shape.Notifications;

        // AUTOINCREMENT never reuses an id: continue above both the sequence and the table; inserting the block moves
        // sqlite_sequence past it by itself.
        var previous = await ScalarAsync(connection, transaction, """
            SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'Notifications'), 0),
                       coalesce((SELECT max("Id") FROM "Notifications"), 0))
            """, ct);
        var firstId = n == 0 ? 0 : previous + 1;
        var lastId = n == 0 ? 0 : previous + n;
        long notifications = 0, audience = 0;
        foreach (var (from, to) in Chunks(n))
        {
            var rows = await ExecuteAsync(connection, transaction, $$"""
                {{Series}}
                INSERT INTO "Notifications" ("Id", "Type", "Title", "Body", "Data", "Priority", "SenderId", "CreatedAt",
                    "ExpiresAt", "RetractedAt", "Everyone", "IdempotencyKey", "RequestHash")
                SELECT @first + g, @type, @title, @body, '{"sentAt":0,"seq":' || g || '}', @priority, @sender,
                    {{CreatedAtText}}, NULL, NULL, g % 10 = 0, NULL, NULL
                FROM r
                """,
                ct,
                ("from", from), ("to", to), ("end", endMs), ("n", n), ("first", firstId), ("type", SeedShape.Type),
                ("title", SeedShape.Title), ("body", shape.Body), ("priority", SeedShape.PriorityNormal), ("sender", SeedShape.SenderId));
            notifications += rows;
            AddWritten(rows);
            rows = await ExecuteAsync(connection, transaction, """
                WITH RECURSIVE s(g) AS (SELECT @from UNION ALL SELECT g + 1 FROM s WHERE g + 1 < @to)
                INSERT INTO "NotificationAudience" ("NotificationId", "Kind", "Value")
                SELECT @first + g, 0, 'load-user-' || (g * @mult % 4294967296 % @users)
                FROM s
                WHERE g % 10 <> 0
                """,
                ct,
                ("from", from), ("to", to), ("first", firstId), ("mult", SeedShape.UserHashMultiplier), ("users", (long)shape.Users));
            audience += rows;
            AddWritten(rows);
        }

        // The service keeps a tally of broadcasts per block of 4096 ids (BroadcastBuckets) in step with every send;
        // rows written here bypass it, so they are added to it here, in the same transaction.
        await ExecuteAsync(connection, transaction, """
            INSERT INTO "BroadcastBuckets" ("Bucket", "Count")
            SELECT "Id" / 4096, COUNT(*) FROM "Notifications" WHERE "Everyone" = 1 AND "Id" BETWEEN @first AND @last GROUP BY "Id" / 4096
            ON CONFLICT ("Bucket") DO UPDATE SET "Count" = "BroadcastBuckets"."Count" + excluded."Count"
            """,
            ct,
            ("first", firstId), ("last", lastId));

        // The service's read-all (SqliteNotificationsDbContext.RaiseWatermarkAsync): the watermark moves only forward,
        // and each user it moved gets the read-all step readers date their notifications by (a user already at @upTo has it).
        var upTo = shape.FirstHalf > 0 ? firstId + shape.FirstHalf - 1 : previous;
        var watermarks = await ExecuteAsync(connection, transaction, """
            WITH RECURSIVE u(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM u WHERE i + 2 < @users)
            INSERT INTO "ReadWatermarks" ("UserId", "UpToId", "ReadAt")
            SELECT 'load-user-' || i, @upTo, @readAt FROM u WHERE true
            ON CONFLICT ("UserId") DO UPDATE SET "UpToId" = excluded."UpToId", "ReadAt" = max("ReadWatermarks"."ReadAt", excluded."ReadAt")
            WHERE "ReadWatermarks"."UpToId" < excluded."UpToId"
            """,
            ct,
            ("users", (long)shape.Users), ("upTo", upTo), ("readAt", ReadAtOf(shape, endMs)));
        AddWritten(watermarks);
        var steps = await ExecuteAsync(connection, transaction, """
            WITH RECURSIVE u(i) AS (SELECT 0 UNION ALL SELECT i + 2 FROM u WHERE i + 2 < @users)
            INSERT INTO "ReadAllSteps" ("UserId", "UpToId", "ReadAt")
            SELECT w."UserId", w."UpToId", w."ReadAt" FROM u JOIN "ReadWatermarks" AS w ON w."UserId" = 'load-user-' || u.i
            WHERE w."UpToId" = @upTo
            ON CONFLICT DO NOTHING
            """,
            ct,
            ("users", (long)shape.Users), ("upTo", upTo));
        AddWritten(steps);
        await transaction.CommitAsync(ct);
        return new BulkSeedResult(firstId, lastId, 0, notifications, audience, watermarks, steps, 0, 0);
    }

    /// <summary>
    /// Folds the write-ahead log back into the database, so the service's first reads do not walk a log of the
    /// whole seed. No ANALYZE: the service never runs it, so a store it filled itself has no statistics either.
    /// </summary>
    protected override async Task<long> AfterCommitAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await ExecuteAsync(connection, null, "PRAGMA wal_checkpoint(TRUNCATE);", ct);
        return await ScalarAsync(connection, null, "SELECT coalesce(max(\"Id\"), 0) FROM \"Notifications\"", ct);
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = false, DefaultTimeout = BusySeconds };
        var connection = new SqliteConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.CommandTimeout = BusySeconds;
        foreach (var (name, value) in parameters)
        {
            // DateTime binds as TEXT 'yyyy-MM-dd HH:mm:ss.FFFFFFF', as EF Core stores it.
            command.Parameters.AddWithValue("@" + name, value);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<long> ScalarAsync(SqliteConnection connection, SqliteTransaction? transaction, string sql, CancellationToken ct,
        params (string Name, object Value)[] parameters)
    {
        await using var command = Command(connection, transaction, sql, parameters);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
