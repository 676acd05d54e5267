using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Notifications.Infrastructure.Data;

/// <summary>
/// Copies the SQLite write-ahead log into the database file once a second, on a connection of its own. Left to
/// SQLite, the commit that crosses 1,000 log pages runs the checkpoint itself, fsync included, and with it the send
/// that commit belongs to and every send queued behind it wait; the send transaction turns that off for its
/// connection (see <see cref="SqliteNotificationsDbContext.BeginSendTransactionAsync"/>). A passive checkpoint waits
/// for no reader or writer, so it never holds up a send.
/// </summary>
public sealed class SqliteWalCheckpointer(IServiceScopeFactory scopes, TimeProvider time, ILogger<SqliteWalCheckpointer> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await using var scope = scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
                    await db.Database.ExecuteSqlRawAsync("PRAGMA wal_checkpoint(PASSIVE);", stoppingToken);
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
}
