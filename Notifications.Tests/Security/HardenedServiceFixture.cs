using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// The service on SQLite with small, test-sized limits so every limit can be reached quickly. Limits are per user,
/// so tests stay independent by using users of their own.
/// </summary>
public sealed class HardenedServiceFixture : ServiceFixture
{
    public const string AllowedOrigin = "https://app.example";
    public const int MaxConnectionsPerUser = 2;
    public const int SendsPerMinute = 3;
    public const int HubInvocationsPerMinute = 5;

    private string DatabaseDirectory => OwnTempDirectory("notifications-hardened-");

    public override string ProviderName => "Sqlite";

    protected override Dictionary<string, string?> ExtraSettings() => new()
    {
        ["Cors:AllowedOrigins:0"] = AllowedOrigin,
        ["Limits:MaxConnectionsPerUser"] = MaxConnectionsPerUser.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimit:SendsPerMinute"] = SendsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimit:HubInvocationsPerMinute"] = HubInvocationsPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(DatabaseDirectory, "notifications.db")));
}
