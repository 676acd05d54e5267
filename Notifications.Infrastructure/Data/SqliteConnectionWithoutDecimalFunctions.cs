using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;

// EF Core's SQLite connection type lives in an .Internal namespace: there is no public way to open its connections
// without the functions below. Only this file uses it.
#pragma warning disable EF1001
using Microsoft.EntityFrameworkCore.Sqlite.Storage.Internal;

namespace Notifications.Infrastructure.Data;

/// <summary>
/// EF Core's SQLite connection without the functions EF Core adds to every connection for decimal arithmetic and
/// <c>Regex.IsMatch</c> (<c>regexp</c>, <c>ef_add</c> … <c>ef_sum</c>, the <c>EF_DECIMAL</c> collation).
/// Microsoft.Data.Sqlite registers a connection's functions with SQLite again on every open and removes them on every
/// close, and EF Core opens the connection for each query outside a transaction: twelve registrations and about 5 KB
/// allocated on every read and every hub connect, several times the cost of a small query. The model has no decimal,
/// floating-point or unsigned column (a test pins that) and no query uses a regular expression, so nothing calls them.
/// </summary>
internal sealed class SqliteConnectionWithoutDecimalFunctions(
    RelationalConnectionDependencies dependencies,
    IRawSqlCommandBuilder rawSqlCommandBuilder,
    IDiagnosticsLogger<DbLoggerCategory.Infrastructure> logger)
    : SqliteRelationalConnection(dependencies, rawSqlCommandBuilder, logger)
{
    protected override DbConnection CreateDbConnection() => new SqliteConnection(GetValidatedConnectionString());

    public static void Use(DbContextOptionsBuilder options, string connectionString) =>
        options.UseSqlite(connectionString).ReplaceService<ISqliteRelationalConnection, SqliteConnectionWithoutDecimalFunctions>();
}
