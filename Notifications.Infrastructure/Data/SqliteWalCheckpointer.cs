using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Notifications.Infrastructure.Data;

/// <summary>When the SQLite write-ahead log is made to start over.</summary>
public sealed class SqliteCheckpointOptions
{
    /// <summary>Pages in the log, after a passive checkpoint, from which the log is restarted (65,536 pages of 4 KB: 256 MB).</summary>
    public int RestartAfterPages { get; set; } = 65_536;

    /// <summary>How long the restarting checkpoint may wait for the writer and for readers; sends wait while it runs.</summary>
    public int RestartBusyTimeoutMs { get; set; } = 100;
}

/// <summary>
/// Copies the SQLite write-ahead log into the database file once a second, on a connection of its own. Left to
/// SQLite, the commit that crosses 1,000 log pages runs the checkpoint itself, fsync included, and with it the send
/// that commit belongs to and every send queued behind it wait; the send transaction turns that off for its
/// connection (see <see cref="SqliteNotificationsDbContext.BeginSendTransactionAsync"/>). A passive checkpoint waits
/// for no reader or writer, so it never holds up a send.
/// <para>
/// A passive checkpoint never lets the log start over while sends keep coming: SQLite rewinds the log only when a
/// write begins after every page was copied back, and under steady sends the next commit always lands first. The log
/// then grew by every commit (860 MB in a 5-minute benchmark). Once the log holds
/// <see cref="SqliteCheckpointOptions.RestartAfterPages"/> after a passive checkpoint, a restarting one follows: it
/// holds sends back while it copies the few pages the passive one left, and the next commit writes the log from its
/// start again, so the file stops growing. If the writer or a reader keeps it waiting past its short busy timeout, it
/// gives up and the next second tries again. (A truncating checkpoint would also shrink the file, but every commit
/// after it then grows the file again: 10 % fewer sends per second in S4.)
/// </para>
/// </summary>
public sealed class SqliteWalCheckpointer(
    IServiceScopeFactory scopes,
    IOptions<SqliteCheckpointOptions> options,
    TimeProvider time,
    ILogger<SqliteWalCheckpointer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    // The log's size when it was last restarted: until the next write rewinds it, the log reports the same size and a
    // second restart would have nothing to do.
    private long restartedAtPages = -1;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CheckpointAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogWarning(ex, "SQLite checkpoint failed; retrying in {Interval}", Interval);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckpointAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            var connection = db.Database.GetDbConnection();
            var (_, logPages) = await RunCheckpointAsync(connection, "PASSIVE", cancellationToken);
            if (logPages < options.Value.RestartAfterPages || logPages == restartedAtPages)
            {
                return;
            }

            // The connection is pooled: its busy timeout goes back to what it was.
            var busyTimeout = await ScalarAsync(connection, "PRAGMA busy_timeout;", cancellationToken);
            await ScalarAsync(connection, $"PRAGMA busy_timeout={options.Value.RestartBusyTimeoutMs};", cancellationToken);
            try
            {
                var started = time.GetTimestamp();
                var (busy, _) = await RunCheckpointAsync(connection, "RESTART", cancellationToken);
                restartedAtPages = busy ? -1 : logPages;
                logger.LogDebug("SQLite log restart after {Pages} pages: {Outcome} in {Elapsed} ms", logPages,
                    busy ? "gave up, the writer or a reader was busy" : "done", time.GetElapsedTime(started).TotalMilliseconds);
            }
            finally
            {
                await ScalarAsync(connection, $"PRAGMA busy_timeout={busyTimeout};", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Runs a checkpoint; returns whether it was kept from finishing, and how many pages the log holds.</summary>
    private static async Task<(bool Busy, long LogPages)> RunCheckpointAsync(DbConnection connection, string mode, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode});";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetInt64(0) != 0, reader.GetInt64(1))
            : (false, 0);
    }

    private static async Task<long> ScalarAsync(DbConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken) is long value ? value : 0;
    }
}
