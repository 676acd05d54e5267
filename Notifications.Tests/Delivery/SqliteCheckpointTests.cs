using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>
/// The send transaction never runs a SQLite checkpoint itself (it would stall every queued send on an fsync); a
/// background checkpointer copies the write-ahead log into the database file instead. The file growing while the
/// service runs shows it happened: nothing else writes the file while pooled connections stay open.
/// </summary>
public sealed class SqliteCheckpointTests(SqliteGuaranteesFixture service) : IClassFixture<SqliteGuaranteesFixture>
{
    [Fact]
    public async Task Sends_reach_the_database_file_through_the_background_checkpoint()
    {
        var file = new FileInfo(service.ConnectionString["Data Source=".Length..]);
        var before = file.Length;
        var user = TestUsers.New("checkpoint");
        var body = new string('x', 4000);
        for (var i = 0; i < 100; i++)
        {
            await service.SendAsAdminAsync(new { type = "test.checkpoint", title = $"checkpoint {i}", body, audience = new { users = new[] { user } } })
                .WithTimeout(what: $"send {i}");
        }

        await Timeouts.Eventually(
            () =>
            {
                file.Refresh();
                return Task.FromResult(file.Length > before + (100 * 4000));
            },
            "the database file to take in the 100 sends from the write-ahead log");
    }
}
