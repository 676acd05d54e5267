extern alias LoadTool;

using LoadTool::Notifications.LoadTest.Seeding;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.LoadTool;

/// <summary>
/// The load tool's bulk seeders write the read-all state as the service's own read-all does: every watermark they
/// move comes with its step, so seeded users' notifications are dated by their own read-all, also when seeded twice.
/// </summary>
public sealed class BulkSeederTests
{
    private static readonly SeedShape Shape = new(Notifications: 40, Users: 6, PayloadBytes: 8);

    [Fact]
    public async Task The_SQLite_seeder_adds_a_read_all_step_for_every_watermark_it_moves()
    {
        var directory = Directory.CreateTempSubdirectory("notifications-seeder-").FullName;
        var connectionString = $"Data Source={Path.Combine(directory, "n.db")};Pooling=false";
        try
        {
            await using var db = new SqliteNotificationsDbContext(new DbContextOptionsBuilder<SqliteNotificationsDbContext>().UseSqlite(connectionString).Options);
            await SeedTwiceAndCheckAsync(db, BulkSeeder.Create("sqlite", connectionString));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            TestRunCleanup.DeleteDirectory(directory);
        }
    }

    [Fact]
    public async Task The_PostgreSQL_seeder_adds_a_read_all_step_for_every_watermark_it_moves()
    {
        var server = await PostgresServer.SharedAsync().WithTimeout(what: "the PostgreSQL server");
        var connectionString = await server.CreateDatabaseAsync().WithTimeout(what: "a database");
        await using var db = new PostgresNotificationsDbContext(new DbContextOptionsBuilder<PostgresNotificationsDbContext>().UseNpgsql(connectionString).Options);
        await SeedTwiceAndCheckAsync(db, BulkSeeder.Create("postgres", connectionString));
    }

    private static async Task SeedTwiceAndCheckAsync(NotificationsDbContext db, BulkSeeder seeder)
    {
        await db.Database.MigrateAsync().WithTimeout(what: "migrating");
        var first = await seeder.SeedAsync(Shape, CancellationToken.None).WithTimeout(what: "the first seed");
        var second = await seeder.SeedAsync(Shape, CancellationToken.None).WithTimeout(what: "the second seed");

        var watermarks = await db.ReadWatermarks.AsNoTracking().OrderBy(w => w.UserId).ToListAsync().WithTimeout(what: "the watermarks");
        var steps = (await db.ReadAllSteps.AsNoTracking().ToListAsync().WithTimeout(what: "the steps")).ToLookup(s => s.UserId);
        Assert.Equal(["load-user-0", "load-user-2", "load-user-4"], watermarks.Select(w => w.UserId));
        Assert.Equal((3L, 3L, 3L, 3L), (first.Watermarks, first.ReadAllSteps, second.Watermarks, second.ReadAllSteps));
        foreach (var watermark in watermarks)
        {
            var own = steps[watermark.UserId].OrderBy(s => s.UpToId).ToList();
            Assert.Equal(
                [first.FirstId + Shape.FirstHalf - 1, second.FirstId + Shape.FirstHalf - 1],
                own.Select(s => s.UpToId));
            Assert.True(own[0].ReadAt < own[1].ReadAt, $"{own[0].ReadAt:O} < {own[1].ReadAt:O}");
            Assert.Equal((watermark.UpToId, watermark.ReadAt), (own[1].UpToId, own[1].ReadAt));
        }
    }
}
