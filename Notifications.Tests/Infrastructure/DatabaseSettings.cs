namespace Notifications.Tests.Infrastructure;

/// <summary>The settings that put a service under test on one database, with the fixture's or the test's own added.</summary>
public static class DatabaseSettings
{
    /// <summary>A SQLite file (created and migrated by the service on start).</summary>
    public static Dictionary<string, string?> Sqlite(string databaseFile, Dictionary<string, string?>? more = null) =>
        For("Sqlite", $"Data Source={databaseFile}", more);

    public static Dictionary<string, string?> Postgres(string connectionString, Dictionary<string, string?>? more = null) =>
        For("Postgres", connectionString, more);

    public static Dictionary<string, string?> For(string provider, string connectionString, Dictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Database:Provider"] = provider,
            ["ConnectionStrings:Notifications"] = connectionString,
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        return settings;
    }
}
