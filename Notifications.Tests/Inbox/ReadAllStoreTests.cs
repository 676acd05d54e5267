using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Inbox;

/// <summary>
/// The read-all history in each store, below the service: a database migrated from before it keeps each user's
/// watermark as their first step, and the provider's raise adds a step only when it reaches a new id, never earlier
/// than the step before it.
/// </summary>
public sealed class ReadAllStoreTests
{
    private static readonly DateTime Monday = new(2026, 11, 23, 9, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Friday = Monday.AddDays(4);

    [Fact]
    public async Task On_SQLite_a_stored_watermark_becomes_the_first_step_and_later_read_alls_add_steps_in_order()
    {
        var directory = Directory.CreateTempSubdirectory("notifications-read-all-store-").FullName;
        try
        {
            await using var db = new SqliteNotificationsDbContext(
                new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite($"Data Source={Path.Combine(directory, "n.db")};Pooling=false").Options);
            await MigrateAcrossReadAllStepsAsync(db);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TestRunCleanup.DeleteDirectory(directory);
        }
    }

    [Fact]
    public async Task On_PostgreSQL_a_stored_watermark_becomes_the_first_step_and_later_read_alls_add_steps_in_order()
    {
        var server = await PostgresServer.SharedAsync().WithTimeout(what: "the PostgreSQL server");
        var connectionString = await server.CreateDatabaseAsync().WithTimeout(what: "a database");
        await using var db = new PostgresNotificationsDbContext(
            new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql(connectionString).Options);
        await MigrateAcrossReadAllStepsAsync(db);
    }

    private static async Task MigrateAcrossReadAllStepsAsync(NotificationsDbContext db)
    {
        var migrations = db.Database.GetMigrations().ToList();
        var before = migrations[migrations.FindIndex(m => m.EndsWith("_ReadAllSteps", StringComparison.Ordinal)) - 1];
        await db.GetService<IMigrator>().MigrateAsync(before).WithTimeout(what: $"migrating to {before}");
        await db.Database.ExecuteSqlRawAsync(
            """INSERT INTO "ReadWatermarks" ("UserId", "UpToId", "ReadAt") VALUES ({0}, {1}, {2})""", ["reader", 42L, Monday]).WithTimeout(what: "a watermark");

        await db.Database.MigrateAsync().WithTimeout(what: "migrating to the latest");
        Assert.Equal([(42L, Monday)], await StepsAsync(db));

        // Nothing new to cover: no step, and Monday's stays.
        await db.RaiseWatermarkAsync("reader", 42, Friday, CancellationToken.None).WithTimeout(what: "a read-all");
        await db.RaiseWatermarkAsync("reader", 40, Friday, CancellationToken.None).WithTimeout(what: "a read-all");
        Assert.Equal([(42L, Monday)], await StepsAsync(db));

        await db.RaiseWatermarkAsync("reader", 50, Friday, CancellationToken.None).WithTimeout(what: "a read-all");

        // A read-all whose clock is behind the last step's (another instance, or a call that lost a race) is dated no
        // earlier than that step, so the step covering an id is always the earliest that does.
        await db.RaiseWatermarkAsync("reader", 60, Monday.AddDays(1), CancellationToken.None).WithTimeout(what: "a read-all");
        Assert.Equal([(42L, Monday), (50L, Friday), (60L, Friday)], await StepsAsync(db));
        var watermark = await db.ReadWatermarks.AsNoTracking().SingleAsync(w => w.UserId == "reader").WithTimeout(what: "the watermark");
        Assert.Equal((60L, Friday), (watermark.UpToId, watermark.ReadAt));
    }

    private static async Task<List<(long, DateTime)>> StepsAsync(NotificationsDbContext db) =>
        [.. (await db.ReadAllSteps.AsNoTracking().Where(s => s.UserId == "reader").OrderBy(s => s.UpToId).ToListAsync().WithTimeout(what: "the steps"))
            .Select(s => (s.UpToId, s.ReadAt))];
}
