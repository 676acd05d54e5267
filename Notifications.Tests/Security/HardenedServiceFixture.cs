using Microsoft.Extensions.DependencyInjection;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// The service on SQLite with small, test-sized limits so every limit can be reached quickly. Limits are per user,
/// so tests stay independent by using users of their own. Rate-limit windows move only with <see cref="Clock"/>, so a
/// slow run never sees a window end that a test relies on.
/// </summary>
public sealed class HardenedServiceFixture : ServiceFixture
{
    public const string AllowedOrigin = "https://app.example";
    public const int MaxConnectionsPerUser = 2;
    public const int SendsPerMinute = 3;
    public const int HubInvocationsPerMinute = 5;

    public SteppedTimestampClock Clock { get; } = new();

    private string DatabaseDirectory => OwnTempDirectory("notifications-hardened-");

    public override string ProviderName => "Sqlite";

    protected override Dictionary<string, string?> ExtraSettings() => new()
    {
        ["Cors:AllowedOrigins:0"] = AllowedOrigin,
        ["Limits:MaxConnectionsPerUser"] = MaxConnectionsPerUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimit:SendsPerMinute"] = SendsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimit:HubInvocationsPerMinute"] = HubInvocationsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<TimeProvider>(Clock);

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(DatabaseDirectory, "notifications.db")));
}
