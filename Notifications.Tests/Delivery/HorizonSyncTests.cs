using System.Data.Common;
using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Notifications.Api.Inbox;
using Notifications.Domain;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// The sync SQL Server runs (<see cref="InboxQueries.SyncUpToHorizonAsync"/>) is separate statements with no common
/// snapshot. Run here on SQLite and PostgreSQL outside a transaction, each statement sees what has committed by the
/// time it runs, as at READ COMMITTED; sends, and the reader's join to the group one of them goes to, commit right
/// before each of its statements in turn, and a client that keeps syncing after its cursor still gets each exactly
/// once. SQL Server's locking read, where the branches of one statement see different moments, cannot be had here;
/// the horizon covers it, and the sends landing right before the last statement (the page) pin that: nothing above
/// the horizon is returned, and the cursor stays below it.
/// </summary>
public abstract class HorizonSyncTests(DeliveryFixture service)
{
    private const string Type = "test.horizon";

    protected DeliveryFixture Service => service;

    [Fact]
    public async Task Sends_and_a_join_that_commit_between_any_two_statements_of_a_sync_are_neither_skipped_nor_repeated()
    {
        var statements = await CountSyncStatementsAsync();
        Assert.True(statements >= 3, $"a sync should read the horizon, the memberships and the page; it ran {statements} statements");
        for (var before = 1; before <= statements; before++)
        {
            await RaceAsync(before, lastStatement: before == statements);
        }
    }

    /// <summary>Runs a sync whose statement number <paramref name="before"/> finds four sends and a join just committed.</summary>
    private async Task RaceAsync(int before, bool lastStatement)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var user = $"hz{before}-{run}";
        var role = $"hz-role{before}-{run}";
        var group = $"hz-group{before}-{run}";
        using var admin = service.LongClient("admin-horizon", "admin");
        await admin.CreateGroupAsync(group, "restricted");
        var start = await service.MaxNotificationIdAsync();
        var earlier = (await service.SendAsAdminAsync(TestUsers.Notification("earlier", user))).Id;

        List<long> raced = [];
        var race = new BeforeStatement(before, async () =>
        {
            using var join = await admin.PutAsync($"api/groups/{group}/members/{user}", null);
            Assert.Equal(HttpStatusCode.NoContent, join.StatusCode);

            // Every part of the audience, the group's first: one before the user's is what a cut page would skip.
            raced.Add((await service.SendAsAdminAsync(new { type = Type, title = "group", audience = new { groups = new[] { group } } })).Id);
            raced.Add((await service.SendAsAdminAsync(new { type = Type, title = "everyone", audience = new { everyone = true } })).Id);
            raced.Add((await service.SendAsAdminAsync(new { type = Type, title = "role", audience = new { roles = new[] { role } } })).Id);
            raced.Add((await service.SendAsAdminAsync(new { type = Type, title = "user", audience = new { users = new[] { user } } })).Id);
        });
        await using var db = Context(race);
        var queries = new InboxQueries(db, service.Clock);
        var viewer = Viewer.Of(user, role);

        var page = await queries.SyncUpToHorizonAsync(viewer, start, 10, CancellationToken.None).WithTimeout(what: "the raced sync");
        Assert.True(race.Ran, $"statement {before} of the sync was not run");
        List<long> seen = [.. page.Items.Select(n => n.Id)];
        if (lastStatement)
        {
            Assert.Equal([earlier], seen);
            Assert.Equal(earlier, page.Cursor);
            Assert.False(page.HasMore);
        }

        // Later syncs, as a client makes them, in pages of two.
        var cursor = page.Cursor;
        do
        {
            page = await queries.SyncUpToHorizonAsync(viewer, cursor, 2, CancellationToken.None).WithTimeout(what: "a later sync");
            seen.AddRange(page.Items.Select(n => n.Id));
            Assert.True(page.Cursor >= cursor, "the cursor went backwards");
            cursor = page.Cursor;
        }
        while (page.HasMore);

        Assert.Equal([earlier, .. raced.Order()], seen);
    }

    private async Task<int> CountSyncStatementsAsync()
    {
        var user = TestUsers.New("hz-count");
        var start = await service.MaxNotificationIdAsync();
        await service.SendAsAdminAsync(TestUsers.Notification("counted", user));
        var counter = new BeforeStatement(0, () => Task.CompletedTask);
        await using var db = Context(counter);
        var page = await new InboxQueries(db, service.Clock).SyncUpToHorizonAsync(Viewer.Of(user), start, 10, CancellationToken.None);
        Assert.Single(page.Items);
        return counter.Statements;
    }

    /// <summary>A context of its own on the fixture's database, so that the statements it runs can be intercepted.</summary>
    protected abstract NotificationsDbContext Context(IInterceptor interceptor);

    /// <summary>Runs <paramref name="action"/> once, right before the context's statement number <paramref name="index"/>.</summary>
    private sealed class BeforeStatement(int index, Func<Task> action) : DbCommandInterceptor
    {
        public int Statements { get; private set; }

        public bool Ran { get; private set; }

        public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
            DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            if (++Statements == index)
            {
                await action();
                Ran = true;
            }

            return result;
        }
    }
}

public sealed class SqliteHorizonSyncTests(SqliteGuaranteesFixture service) : HorizonSyncTests(service), IClassFixture<SqliteGuaranteesFixture>
{
    protected override NotificationsDbContext Context(IInterceptor interceptor)
    {
        var options = new DbContextOptionsBuilder<SqliteNotificationsDbContext>();
        SqliteConnectionWithoutDecimalFunctions.Use(options, Service.ConnectionString);
        return new SqliteNotificationsDbContext(options.AddInterceptors(interceptor).Options);
    }
}

public sealed class PostgresHorizonSyncTests(PostgresGuaranteesFixture service) : HorizonSyncTests(service), IClassFixture<PostgresGuaranteesFixture>
{
    protected override NotificationsDbContext Context(IInterceptor interceptor) =>
        new PostgresNotificationsDbContext(new DbContextOptionsBuilder<PostgresNotificationsDbContext>()
            .UseNpgsql(Service.ConnectionString).AddInterceptors(interceptor).Options);
}
