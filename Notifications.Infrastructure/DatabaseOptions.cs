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

/// <summary>The part of <c>Limits:*</c> that bounds what waits for a client that stopped reading (see <see cref="Cluster.PushWriter"/>).</summary>
public sealed class PushQueueOptions
{
    public const string Section = "Limits";

    /// <summary>
    /// Pushes waiting for one connection that lags (its write took longer than half a second) before it is closed; its
    /// client reconnects and syncs. Each waiting push costs a few hundred bytes besides the push itself.
    /// </summary>
    [Range(1, 1_000_000)]
    public int MaxQueuedPushesPerConnection { get; set; } = 1000;
}
