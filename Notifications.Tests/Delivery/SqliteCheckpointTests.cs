using Microsoft.Extensions.DependencyInjection;
using Notifications.Infrastructure.Data;
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

/// <summary>
/// Under steady sends a passive checkpoint never lets SQLite start its log over, so the log file grew by every commit.
/// The checkpointer restarts the log once it passes a size, here 64 pages (256 KB) instead of 256 MB. Each restart
/// shows in the log file's header, whose checkpoint sequence number SQLite raises every time the log starts over.
/// </summary>
public sealed class SqliteLogRestartTests(SqliteSmallLogFixture service) : IClassFixture<SqliteSmallLogFixture>
{
    [Fact]
    public async Task The_write_ahead_log_starts_over_while_sends_keep_coming()
    {
        var log = service.ConnectionString["Data Source=".Length..] + "-wal";
        var user = TestUsers.New("wal");
        var body = new string('x', 2000);
        var sequenceNumbers = new System.Collections.Concurrent.ConcurrentDictionary<uint, bool>();
        // Eight senders back to back for up to five seconds, until the log has started over: several checkpoints run
        // while sends keep committing.
        var until = DateTime.UtcNow.AddSeconds(5);
        var senders = Enumerable.Range(0, 8).Select(async s =>
        {
            for (var i = 0; DateTime.UtcNow < until && sequenceNumbers.Count < 2; i++)
            {
                await service.SendAsAdminAsync(new { type = "test.wal", title = $"wal {s}-{i}", body, audience = new { users = new[] { user } } })
                    .WithTimeout(what: $"send {s}-{i}");
                if (await CheckpointSequenceAsync(log) is { } sequence)
                {
                    sequenceNumbers.TryAdd(sequence, true);
                }
            }
        });
        await Task.WhenAll(senders).WithTimeout(TimeSpan.FromSeconds(60), "the senders");

        Assert.True(sequenceNumbers.Count >= 2,
            $"The log never started over during five seconds of sends (checkpoint sequence numbers seen: {string.Join(", ", sequenceNumbers.Keys)}).");
    }

    /// <summary>Bytes 12–15 of a write-ahead log file: its checkpoint sequence number, big-endian.</summary>
    private static async Task<uint?> CheckpointSequenceAsync(string path)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[16];
        return await file.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false) == header.Length
            ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(12))
            : null;
    }
}

public sealed class SqliteSmallLogFixture : DeliveryFixture
{
    protected override bool OnPostgres => false;

    // Eight senders as fast as the box allows would pass the default 3,000 sends a minute per sender.
    protected override Dictionary<string, string?> ExtraSettings() => new() { ["RateLimit:SendsPerMinute"] = "0" };

    protected override void ConfigureServices(IServiceCollection services)
    {
        base.ConfigureServices(services);
        services.Configure<SqliteCheckpointOptions>(o => o.RestartAfterPages = 64);
    }
}
