using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Data.SqlClient;
using Npgsql;

namespace Notifications.Infrastructure.Data;

/// <summary>
/// Tells a store outage (the database cannot be reached, is shutting down, busy, out of resources, or broke the
/// connection) from an error in what was asked of it (a constraint, a value too long, a type mismatch, a missing
/// table). Only an outage is worth retrying: the caller is told 503 or "try again shortly"; a data error is a bug
/// that no retry fixes and is reported as a server error.
/// </summary>
public static class StoreFailures
{
    // SQL Server numbers of errors in the statement or its data. Everything else is counted as an outage: SQL Server
    // is not tested here, and a wrong 503 costs a retry where a wrong 500 hides an outage.
    private static readonly HashSet<int> SqlServerDataErrors =
    [
        2627, // unique constraint
        2601, // duplicate key in a unique index
        547, // foreign key or check constraint
        515, // NULL into a NOT NULL column
        8152, // string or binary data would be truncated
        2628, // the same, naming the column
        245, // conversion failed
        8114, // error converting data type
        207, // invalid column name
        208, // invalid object name
    ];

    /// <summary>
    /// Whether <paramref name="exception"/>, or anything it wraps, says the store is unavailable. EF Core wraps the
    /// provider's exception (DbUpdateException from SaveChanges; InvalidOperationException "transient failure" from
    /// its execution strategy), so wrappers are judged by what they hold.
    /// </summary>
    public static bool IsUnavailable(Exception exception) => AnyInside(exception, SaysUnavailable);

    /// <summary>
    /// Whether <paramref name="exception"/>, or anything it wraps, is a foreign key violation: a row written for a
    /// notification (a receipt, an outbox entry) whose notification is gone. Retention can delete it between a
    /// caller's check that it is there and the write, so the callers that write such rows treat this as "no longer
    /// there" rather than as a bug. A data error all the same: never <see cref="IsUnavailable"/>.
    /// </summary>
    public static bool IsForeignKeyViolation(Exception exception) => AnyInside(exception, SaysForeignKeyViolation);

    private static bool AnyInside(Exception exception, Func<Exception, bool> says) =>
        says(exception)
        || (exception is AggregateException aggregate
            ? aggregate.InnerExceptions.Any(inner => AnyInside(inner, says))
            : exception.InnerException is { } inner && AnyInside(inner, says));

    private static bool SaysForeignKeyViolation(Exception exception) => exception switch
    {
        PostgresException postgres => postgres.SqlState == PostgresErrorCodes.ForeignKeyViolation,
        SqliteException sqlite => sqlite.SqliteExtendedErrorCode == SqliteForeignKeyConstraint,

        // 547 also covers CHECK constraints; the model has none, so on SQL Server it is always a foreign key.
        SqlException sqlServer => sqlServer.Errors.Cast<SqlError>().Any(e => e.Number == 547),
        _ => false,
    };

    // SQLITE_CONSTRAINT_FOREIGNKEY: SQLITE_CONSTRAINT (19) | 3 << 8.
    private const int SqliteForeignKeyConstraint = 787;

    private static bool SaysUnavailable(Exception exception) => exception switch
    {
        TimeoutException => true,

        // The server answered: its SQLSTATE says whether it could not serve the statement or refused it.
        PostgresException postgres => IsPostgresOutage(postgres.SqlState),

        // No answer from the server: a socket, stream, pool or protocol failure.
        NpgsqlException => true,

        // Extended result codes carry the primary code in their low byte.
        SqliteException sqlite => IsSqliteOutage(sqlite.SqliteErrorCode & 0xFF),

        SqlException sqlServer => !sqlServer.Errors.Cast<SqlError>().Any(e => SqlServerDataErrors.Contains(e.Number)),
        DbException other => other.IsTransient,
        _ => false,
    };

    private static bool IsPostgresOutage(string sqlState) =>
        sqlState == PostgresErrorCodes.LockNotAvailable

        // A failover left the connection on a standby; the next one reaches the new primary.
        || sqlState == PostgresErrorCodes.ReadOnlySqlTransaction
        || (sqlState.Length == 5 && sqlState[..2] is "08" or "40" or "53" or "57" or "58");

    private static bool IsSqliteOutage(int primaryCode) => primaryCode is
        5 // BUSY
        or 6 // LOCKED
        or 7 // NOMEM
        or 8 // READONLY
        or 10 // IOERR
        or 11 // CORRUPT
        or 13 // FULL
        or 14 // CANTOPEN
        or 15 // PROTOCOL
        or 26; // NOTADB
}
