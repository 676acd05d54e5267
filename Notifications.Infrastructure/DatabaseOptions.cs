using System.ComponentModel.DataAnnotations;

namespace Notifications.Infrastructure;

public enum DatabaseProvider
{
    Sqlite,
    SqlServer,
    Postgres,
}

public sealed class DatabaseOptions
{
    public const string Section = "Database";

    [EnumDataType(typeof(DatabaseProvider))]
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>A single instance migrates itself; set false where a migration job runs first.</summary>
    public bool MigrateOnStartup { get; set; } = true;
}

public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>StackExchange.Redis configuration; unset means a single instance with the in-memory backplane.</summary>
    public string? Configuration { get; set; }

    /// <summary>Keeps several deployments apart on one Redis; defaults to the application name and environment.</summary>
    public string? ChannelPrefix { get; set; }
}
