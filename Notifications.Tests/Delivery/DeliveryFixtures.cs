using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Notifications.Api.Sending;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Delivery;

/// <summary>The system clock plus an offset the test moves forward; timers still run in real time.</summary>
public sealed class TestClock : TimeProvider
{
    private long offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref offsetTicks, by.Ticks);
}

/// <summary>
/// The app in process on real Kestrel, with a movable clock and captured logs. Tokens here live long enough
/// (issued a day ago, valid for 400 days) to stay valid whichever clock the token validation reads.
/// </summary>
public abstract class DeliveryFixture : ServiceFixture
{
    private string SqliteDirectory => OwnTempDirectory("notifications-delivery-");

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public TestClock Clock { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public string ConnectionString { get; private set; } = string.Empty;

    public override string ProviderName => OnPostgres ? "Postgres" : "Sqlite";

    protected abstract bool OnPostgres { get; }

    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        ConnectionString = OnPostgres
            ? await (await PostgresServer.SharedAsync()).CreateDatabaseAsync()
            : $"Data Source={Path.Combine(SqliteDirectory, "notifications.db")}";
        return DatabaseSettings.For(ProviderName, ConnectionString);
    }

    protected override void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<TimeProvider>(Clock);
        services.AddSingleton<ILoggerProvider>(Logs);
    }

    public static string LongToken(string userId, params string[] roles) =>
        TestTokens.Create(userId, roles, TimeSpan.FromDays(400), issuedAt: DateTime.UtcNow.AddDays(-1));

    public HttpClient LongClient(string userId, params string[] roles) => ClientWithToken(LongToken(userId, roles));

    public Task<HubClient> LongConnectAsync(string userId, params string[] roles) => ConnectWithTokenAsync(() => LongToken(userId, roles));

    /// <summary>Sends as an admin with a long-lived token; fails the test on anything but 201.</summary>
    public async Task<SendResult> SendAsAdminAsync(object request, string senderId = "admin-delivery")
    {
        using var client = LongClient(senderId, "admin");
        return await client.SendNotificationAsync(request);
    }

    /// <summary>Runs a query against the app's own database, through the app's own DbContext.</summary>
    public async Task<T> QueryAsync<T>(Func<NotificationsDbContext, Task<T>> query)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        return await query(db).WithTimeout(what: "a database query");
    }

    public async Task<long> MaxNotificationIdAsync() => await QueryAsync(db => db.Notifications.MaxAsync(n => (long?)n.Id)) ?? 0;
}

/// <summary>Sends hold their transaction open for a random while, so concurrent sends overlap; cleanup runs every second.</summary>
public abstract class GaplessFixture : DeliveryFixture
{
    protected override Dictionary<string, string?> ExtraSettings() => new()
    {
        ["Faults:SendCommitDelayMs"] = "15",
        ["Retention:IntervalSeconds"] = "1",
    };
}

public sealed class SqliteGaplessFixture : GaplessFixture
{
    protected override bool OnPostgres => false;
}

public sealed class PostgresGaplessFixture : GaplessFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>A short idempotency window and small cleanup batches; the cleanup is run by the tests, not by its timer.</summary>
public abstract class GuaranteesFixture : DeliveryFixture
{
    public const int IdempotencyWindowHours = 2;
    public const int RetentionBatchSize = 10;

    public static Dictionary<string, string?> Settings => new()
    {
        ["Idempotency:WindowHours"] = IdempotencyWindowHours.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Retention:BatchSize"] = RetentionBatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Retention:IntervalSeconds"] = "86400",
    };

    protected override Dictionary<string, string?> ExtraSettings() => Settings;
}

public sealed class SqliteGuaranteesFixture : GuaranteesFixture
{
    protected override bool OnPostgres => false;
}

public sealed class PostgresGuaranteesFixture : GuaranteesFixture
{
    protected override bool OnPostgres => true;
}

/// <summary>The guarantees on SQLite with a real redis-server of the fixture's own as the backplane.</summary>
public sealed class RedisGuaranteesFixture : RedisDeliveryFixture
{
    protected override Dictionary<string, string?> ExtraSettings() => GuaranteesFixture.Settings;
}
