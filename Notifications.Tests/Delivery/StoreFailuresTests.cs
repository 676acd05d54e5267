using System.Data.Common;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Notifications.Domain;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;
using Npgsql;

namespace Notifications.Tests.Delivery;

/// <summary>
/// Only a store outage is answered with 503 / "store is unavailable; try again shortly": a data error (a constraint,
/// a value too long, a missing table) can never succeed on retry, so it must not be reported as one.
/// </summary>
public sealed class StoreFailuresTests
{
    public static TheoryData<string> PostgresOutageStates =>
    [
        "08000", "08001", "08006", // connection exceptions
        "40001", "40P01", // serialization failure, deadlock
        "53100", "53200", "53300", // disk full, out of memory, too many connections
        "57P01", "57P02", "57P03", "57014", // admin_shutdown, crash_shutdown, cannot_connect_now, query_canceled
        "58000", "58030", // system error, I/O error
        "55P03", // lock_not_available
        "25006", // read_only_sql_transaction: a failover left the connection on a standby
    ];

    public static TheoryData<string> PostgresDataErrorStates =>
    [
        "23505", "23503", "23502", "23514", // unique, foreign key, not null, check
        "22001", "22P02", "22003", // value too long, invalid text representation, numeric out of range
        "42P01", "42703", "42601", // undefined table, undefined column, syntax error
        "55000", // object not in prerequisite state
        "XX000", // internal error
    ];

    [Theory]
    [MemberData(nameof(PostgresOutageStates))]
    public void A_PostgreSQL_error_of_an_outage_class_is_unavailable(string sqlState) =>
        Assert.True(StoreFailures.IsUnavailable(PostgresError(sqlState)));

    [Theory]
    [MemberData(nameof(PostgresDataErrorStates))]
    public void A_PostgreSQL_data_or_statement_error_is_not_unavailable(string sqlState) =>
        Assert.False(StoreFailures.IsUnavailable(PostgresError(sqlState)));

    [Fact]
    public void Npgsql_failures_without_a_server_answer_are_unavailable()
    {
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused))));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Exception while reading from stream", new EndOfStreamException())));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Exception while writing to stream", new IOException("Broken pipe"))));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("The connection pool has been exhausted", new TimeoutException())));
        Assert.True(StoreFailures.IsUnavailable(new NpgsqlException("Connection is broken")));
        Assert.True(StoreFailures.IsUnavailable(new TimeoutException()));
    }

    [Theory]
    [InlineData(5)] // BUSY
    [InlineData(6)] // LOCKED
    [InlineData(7)] // NOMEM
    [InlineData(8)] // READONLY
    [InlineData(10)] // IOERR
    [InlineData(11)] // CORRUPT
    [InlineData(13)] // FULL
    [InlineData(14)] // CANTOPEN
    [InlineData(15)] // PROTOCOL
    [InlineData(26)] // NOTADB
    [InlineData(10 | (2 << 8))] // IOERR_SHORT_READ
    [InlineData(5 | (1 << 8))] // BUSY_RECOVERY
    public void A_SQLite_error_of_an_outage_code_is_unavailable(int errorCode)
    {
        Assert.True(StoreFailures.IsUnavailable(new SqliteException("SQLite error", errorCode)));
        Assert.True(StoreFailures.IsUnavailable(new SqliteException("SQLite error", errorCode & 0xFF, errorCode)));
    }

    [Theory]
    [InlineData(1)] // ERROR (no such table, syntax)
    [InlineData(18)] // TOOBIG
    [InlineData(19)] // CONSTRAINT
    [InlineData(20)] // MISMATCH
    [InlineData(25)] // RANGE
    [InlineData(19 | (8 << 8))] // CONSTRAINT_UNIQUE
    [InlineData(19 | (6 << 8))] // CONSTRAINT_PRIMARYKEY
    [InlineData(19 | (3 << 8))] // CONSTRAINT_FOREIGNKEY
    public void A_SQLite_data_or_statement_error_is_not_unavailable(int errorCode)
    {
        Assert.False(StoreFailures.IsUnavailable(new SqliteException("SQLite error", errorCode)));
        Assert.False(StoreFailures.IsUnavailable(new SqliteException("SQLite error", errorCode & 0xFF, errorCode)));
    }

    [Fact]
    public void Another_provider_s_exception_is_unavailable_only_when_it_says_it_is_transient()
    {
        Assert.True(StoreFailures.IsUnavailable(new OtherDbException(transient: true)));
        Assert.False(StoreFailures.IsUnavailable(new OtherDbException(transient: false)));
    }

    [Fact]
    public void Wrappers_are_judged_by_what_they_wrap()
    {
        var refused = new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused));
        var duplicate = PostgresError("23505");

        // SaveChanges, and the execution strategy around it, as a stopped server reaches the handler.
        Assert.True(StoreFailures.IsUnavailable(new DbUpdateException("An error occurred while saving the entity changes.", refused)));
        Assert.True(StoreFailures.IsUnavailable(
            new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", new DbUpdateException("saving", PostgresError("57P01")))));
        Assert.True(StoreFailures.IsUnavailable(new InvalidOperationException("transient failure", PostgresError("57P03"))));
        Assert.True(StoreFailures.IsUnavailable(new AggregateException(new InvalidOperationException("unrelated"), refused)));
        Assert.True(StoreFailures.IsUnavailable(new DbUpdateException("saving", new SqliteException("database is locked", 5))));

        Assert.False(StoreFailures.IsUnavailable(new DbUpdateException("An error occurred while saving the entity changes.", duplicate)));
        Assert.False(StoreFailures.IsUnavailable(new InvalidOperationException("transient failure", new DbUpdateException("saving", duplicate))));
        Assert.False(StoreFailures.IsUnavailable(new DbUpdateException("saving", new SqliteException("UNIQUE constraint failed: Groups.Name", 19, 2067))));
        Assert.False(StoreFailures.IsUnavailable(new AggregateException(duplicate, new InvalidOperationException("unrelated"))));
    }

    [Fact]
    public void Only_a_foreign_key_violation_says_a_referenced_notification_is_gone_also_when_wrapped()
    {
        Assert.True(StoreFailures.IsForeignKeyViolation(PostgresError("23503")));
        Assert.True(StoreFailures.IsForeignKeyViolation(new DbUpdateException("saving", PostgresError("23503"))));
        Assert.True(StoreFailures.IsForeignKeyViolation(new SqliteException("FOREIGN KEY constraint failed", 19, 787)));
        Assert.True(StoreFailures.IsForeignKeyViolation(new AggregateException(new InvalidOperationException("unrelated"), new DbUpdateException("saving", PostgresError("23503")))));

        Assert.False(StoreFailures.IsForeignKeyViolation(PostgresError("23505")));
        Assert.False(StoreFailures.IsForeignKeyViolation(PostgresError("57P01")));
        Assert.False(StoreFailures.IsForeignKeyViolation(new SqliteException("UNIQUE constraint failed: Groups.Name", 19, 2067)));
        Assert.False(StoreFailures.IsForeignKeyViolation(new SqliteException("constraint failed", 19)));
        Assert.False(StoreFailures.IsForeignKeyViolation(new DbUpdateConcurrencyException("expected to affect 1 row(s), but actually affected 0 row(s).")));
        Assert.False(StoreFailures.IsUnavailable(new DbUpdateException("saving", PostgresError("23503"))));
    }

    [Fact]
    public async Task A_receipt_for_a_notification_that_is_not_stored_is_a_foreign_key_violation_on_real_SQLite_and_PostgreSQL()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("notifications-store-failures-").FullName, "n.db");
        var postgres = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        try
        {
            await using (var sqlite = SqliteContext($"Data Source={file};Pooling=false"))
            {
                await AssertForeignKeyViolationAsync(sqlite);
            }

            await using (var db = PostgresContext(postgres))
            {
                await AssertForeignKeyViolationAsync(db);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TestRunCleanup.DeleteDirectory(Path.GetDirectoryName(file)!);
        }

        // Through the receipt upsert the inbox writes with, and through SaveChanges.
        static async Task AssertForeignKeyViolationAsync(NotificationsDbContext db)
        {
            await db.Database.MigrateAsync().WithTimeout();
            var upsert = await Assert.ThrowsAnyAsync<DbException>(
                () => db.UpsertReceiptsAsync("u", [4711], ReceiptField.Read, DateTime.UtcNow, CancellationToken.None).WithTimeout());
            Assert.True(StoreFailures.IsForeignKeyViolation(upsert), upsert.ToString());
            Assert.False(StoreFailures.IsUnavailable(upsert));

            db.Receipts.Add(new Receipt { UserId = "u", NotificationId = 4711 });
            var saving = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync().WithTimeout());
            Assert.True(StoreFailures.IsForeignKeyViolation(saving), saving.ToString());
        }
    }

    [Fact]
    public void A_DbUpdateException_with_no_database_error_inside_is_not_unavailable()
    {
        Assert.False(StoreFailures.IsUnavailable(new DbUpdateConcurrencyException("The database operation was expected to affect 1 row(s), but actually affected 0 row(s).")));
        Assert.False(StoreFailures.IsUnavailable(new DbUpdateException("saving")));
        Assert.False(StoreFailures.IsUnavailable(new DbUpdateException("saving", new InvalidCastException())));
        Assert.False(StoreFailures.IsUnavailable(new InvalidOperationException("Sequence contains no elements")));
        Assert.False(StoreFailures.IsUnavailable(new DomainException("a rule")));
    }

    [Fact]
    public async Task On_a_real_SQLite_database_a_constraint_violation_or_missing_table_is_not_unavailable_and_a_busy_database_is()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("notifications-store-failures-").FullName, "n.db");
        try
        {
            await using (var db = SqliteContext($"Data Source={file};Pooling=false"))
            {
                await db.Database.MigrateAsync().WithTimeout();
                const string insert = "INSERT INTO \"Groups\" (\"Name\", \"Kind\", \"CreatedAt\", \"CreatedBy\") VALUES ('g', 0, '2026-01-01 00:00:00', 'admin-1')";
                await db.Database.ExecuteSqlRawAsync(insert).WithTimeout();

                var duplicate = await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync(insert).WithTimeout());
                Assert.Equal(19, duplicate.SqliteErrorCode);
                Assert.False(StoreFailures.IsUnavailable(duplicate));

                db.Groups.Add(new NotificationGroup { Name = "g", CreatedAt = DateTime.UtcNow, CreatedBy = "admin-1" });
                var saving = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync().WithTimeout());
                Assert.IsType<SqliteException>(saving.InnerException);
                Assert.False(StoreFailures.IsUnavailable(saving));

                var missing = await Assert.ThrowsAsync<SqliteException>(() => db.Database.ExecuteSqlRawAsync("SELECT * FROM \"NoSuchTable\"").WithTimeout());
                Assert.False(StoreFailures.IsUnavailable(missing));
            }

            // Another writer holds the write lock past the command timeout: the database is busy, not the request wrong.
            await using var holder = new SqliteConnection($"Data Source={file};Pooling=false");
            await holder.OpenAsync();
            await using var hold = holder.BeginTransaction(deferred: false);
            await using (var db = SqliteContext($"Data Source={file};Pooling=false;Default Timeout=1"))
            {
                var busy = await Assert.ThrowsAsync<SqliteException>(
                    () => db.Database.ExecuteSqlRawAsync("INSERT INTO \"ReadWatermarks\" (\"UserId\", \"UpToId\", \"ReadAt\") VALUES ('u', 1, '2026-01-01 00:00:00')").WithTimeout());
                Assert.Equal(5, busy.SqliteErrorCode);
                Assert.True(StoreFailures.IsUnavailable(busy));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TestRunCleanup.DeleteDirectory(Path.GetDirectoryName(file)!);
        }
    }

    [Fact]
    public async Task A_SQLite_database_that_cannot_be_opened_is_unavailable()
    {
        var file = Path.Combine(Path.GetTempPath(), $"notifications-missing-{Guid.NewGuid():N}", "n.db");
        await using var db = SqliteContext($"Data Source={file};Pooling=false");

        var error = await Assert.ThrowsAsync<SqliteException>(() => db.Groups.CountAsync().WithTimeout());
        Assert.Equal(14, error.SqliteErrorCode);
        Assert.True(StoreFailures.IsUnavailable(error));
    }

    [Fact]
    public async Task On_a_real_PostgreSQL_server_a_constraint_violation_is_not_unavailable_and_a_terminated_or_refused_connection_is()
    {
        var server = await PostgresServer.SharedAsync();
        var connectionString = await server.CreateDatabaseAsync();
        await using (var db = PostgresContext(connectionString))
        {
            await db.Database.MigrateAsync().WithTimeout();
            db.Groups.Add(new NotificationGroup { Name = "g", CreatedAt = DateTime.UtcNow, CreatedBy = "admin-1" });
            await db.SaveChangesAsync().WithTimeout();
        }

        await using (var db = PostgresContext(connectionString))
        {
            db.Groups.Add(new NotificationGroup { Name = "g", CreatedAt = DateTime.UtcNow, CreatedBy = "admin-1" });
            var saving = await Assert.ThrowsAsync<DbUpdateException>(() => db.SaveChangesAsync().WithTimeout());
            Assert.Equal(PostgresErrorCodes.UniqueViolation, Assert.IsType<PostgresException>(saving.InnerException).SqlState);
            Assert.False(StoreFailures.IsUnavailable(saving));

            var missing = await Assert.ThrowsAsync<PostgresException>(() => db.Database.ExecuteSqlRawAsync("SELECT * FROM \"NoSuchTable\"").WithTimeout());
            Assert.False(StoreFailures.IsUnavailable(missing));
        }

        // A server that drops the connection (as a shutdown does) and one that is not there at all.
        await using (var connection = new NpgsqlConnection(connectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            await using (var admin = new NpgsqlConnection(server.AdminConnectionString))
            {
                await admin.OpenAsync();
                await using var terminate = new NpgsqlCommand($"SELECT pg_terminate_backend({connection.ProcessID}, 5000)", admin);
                await terminate.ExecuteScalarAsync();
            }

            await using var query = new NpgsqlCommand("SELECT 1", connection);
            var dropped = await Assert.ThrowsAnyAsync<NpgsqlException>(() => query.ExecuteScalarAsync().WithTimeout());
            Assert.True(StoreFailures.IsUnavailable(dropped), $"{dropped.GetType().Name} {(dropped as PostgresException)?.SqlState}: {dropped.Message}");
        }

        await using (var db = PostgresContext($"Host=127.0.0.1;Port={FreePort.Next()};Username=postgres;Database=none;Timeout=5;Pooling=false"))
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => db.Groups.CountAsync().WithTimeout());
            Assert.True(StoreFailures.IsUnavailable(refused), refused.ToString());
        }
    }

    private static PostgresException PostgresError(string sqlState) => new("message", "ERROR", "ERROR", sqlState);

    private static SqliteNotificationsDbContext SqliteContext(string connectionString) =>
        new(new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite(connectionString).Options);

    private static PostgresNotificationsDbContext PostgresContext(string connectionString) =>
        new(new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql(connectionString).Options);

    private sealed class OtherDbException(bool transient) : DbException("provider error")
    {
        public override bool IsTransient => transient;
    }
}
