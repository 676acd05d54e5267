using Microsoft.AspNetCore.SignalR;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;
using SignalRRedisOptions = Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions;

namespace Notifications.Infrastructure;

public static class InfrastructureExtensions
{
    public const string ConnectionStringName = "Notifications";

    /// <summary>The database (one provider, chosen by <c>Database:Provider</c>) and its health check.</summary>
    public static IServiceCollection AddNotificationsDatabase(this IServiceCollection services, IConfiguration configuration, IHostEnvironment environment)
    {
        services.AddOptions<DatabaseOptions>().Bind(configuration.GetSection(DatabaseOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        var provider = ProviderOf(configuration);
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = provider == DatabaseProvider.Sqlite
                ? $"Data Source={Path.Combine(environment.ContentRootPath, "notifications.db")}"
                : throw new OptionsValidationException(ConnectionStringName, typeof(DatabaseOptions),
                    [$"ConnectionStrings:{ConnectionStringName} is required when Database:Provider is {provider}."]);
        }

        switch (provider)
        {
            case DatabaseProvider.Sqlite:
                services.AddDbContextPool<SqliteNotificationsDbContext>(o => SqliteConnectionWithoutDecimalFunctions.Use(o, connectionString));
                services.AddScoped<NotificationsDbContext>(sp => sp.GetRequiredService<SqliteNotificationsDbContext>());
                services.AddOptions<SqliteCheckpointOptions>();
                services.AddHostedService<SqliteWalCheckpointer>();
                break;
            case DatabaseProvider.Postgres:
                services.AddDbContextPool<PostgresNotificationsDbContext>(o => o.UseNpgsql(TunedPostgresConnectionString(connectionString)));
                services.AddScoped<NotificationsDbContext>(sp => sp.GetRequiredService<PostgresNotificationsDbContext>());
                break;
            case DatabaseProvider.SqlServer:
                services.AddDbContextPool<SqlServerNotificationsDbContext>(o => o.UseSqlServer(connectionString));
                services.AddScoped<NotificationsDbContext>(sp => sp.GetRequiredService<SqlServerNotificationsDbContext>());
                break;
            default:
                throw new InvalidOperationException($"Unknown database provider {provider}.");
        }

        services.AddHealthChecks().AddDbContextCheck<NotificationsDbContext>("database", tags: ["ready"]);
        return services;
    }

    /// <summary>
    /// Two Npgsql defaults changed, unless the connection string sets them:
    /// <list type="bullet">
    /// <item><c>Max Auto Prepare=64</c>: Npgsql prepares a statement once it has run a few times (set <c>Max Auto Prepare=0</c>
    /// e.g. behind a PgBouncer older than 1.21 in transaction mode). The inbox, sync and unread-count queries are planned
    /// in a few milliseconds and run in about one: unprepared, PostgreSQL would plan them again on every request.</item>
    /// <item><c>No Reset On Close=true</c>: a pooled connection is not reset when it is handed back. With prepared
    /// statements that reset is seven statements (<c>UNLISTEN *</c>, <c>RESET ALL</c>, <c>pg_advisory_unlock_all()</c>,
    /// <c>SET SESSION AUTHORIZATION DEFAULT</c>, the <c>CLOSE</c> and <c>DISCARD</c>s) that PostgreSQL runs before the
    /// next use, every time: EF opens a connection per query, and the send group once per commit. This service leaves
    /// no session state behind: it sets no session parameters, listens to nothing, and its one session lock
    /// (migrations) is released, or its connection dropped.</item>
    /// </list>
    /// </summary>
    internal static string TunedPostgresConnectionString(string connectionString)
    {
        Npgsql.NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // Npgsql's message quotes the part it could not read, which may be the password.
            throw new OptionsValidationException(ConnectionStringName, typeof(DatabaseOptions),
                [$"ConnectionStrings:{ConnectionStringName} is not a valid PostgreSQL connection string (expected Host=…;Database=…;Username=…)."]);
        }

        // The keys the string names (not its values: a password may contain any word), spaces ignored as Npgsql does.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>().Select(key => key.Replace(" ", "", StringComparison.Ordinal)).ToHashSet(StringComparer.OrdinalIgnoreCase);
        if (!given.Contains("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 64;
        }

        if (!given.Contains("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// The one backplane decision: <c>Redis:Configuration</c> set means SignalR's Redis backplane and a Redis cluster bus;
    /// unset means a single instance, all in memory.
    /// </summary>
    public static ISignalRServerBuilder AddNotificationsBackplane(this ISignalRServerBuilder signalR, IConfiguration configuration, IHostEnvironment environment)
    {
        var services = signalR.Services;
        services.AddSingleton(_ => new InstanceIdentity());
        services.AddOptions<PushQueueOptions>().Bind(configuration.GetSection(PushQueueOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PushWriter>();
        var redis = configuration.GetSection(RedisOptions.Section).Get<RedisOptions>() ?? new RedisOptions();
        if (string.IsNullOrWhiteSpace(redis.Configuration))
        {
            services.AddSingleton<IClusterBus, InMemoryClusterBus>();
            services.RemoveAll(typeof(HubLifetimeManager<>));
            services.AddSingleton(typeof(HubLifetimeManager<>), typeof(UserIndexedHubLifetimeManager<>));
            return signalR;
        }

        var prefix = string.IsNullOrWhiteSpace(redis.ChannelPrefix)
            ? $"{environment.ApplicationName}:{environment.EnvironmentName}".ToLowerInvariant()
            : redis.ChannelPrefix;
        services.AddSingleton(sp => new RedisConnection(redis.Configuration, prefix, sp.GetRequiredService<ILogger<RedisConnection>>()));
        services.AddSingleton<IClusterBus, RedisClusterBus>();
        signalR.AddStackExchangeRedis();
        services.AddOptions<SignalRRedisOptions>().Configure<RedisConnection>((options, connection) =>
            options.ConnectionFactory = _ => Task.FromResult(connection.Multiplexer));

        // The Redis manager reaches even this instance's own connections only through Redis; the fallback wraps it
        // so that they keep getting pushes while Redis is down (see LocalFallbackHubLifetimeManager).
        services.RemoveAll(typeof(HubLifetimeManager<>));
        services.AddSingleton(typeof(HubLifetimeManager<>), typeof(LocalFallbackHubLifetimeManager<>));
        services.AddHealthChecks().AddRedis(sp => sp.GetRequiredService<RedisConnection>().Multiplexer, "redis", tags: ["ready"]);
        return signalR;
    }

    // By name only: the binder also takes a number ("1" would be SqlServer, "7" nothing at all), which is never meant.
    private static DatabaseProvider ProviderOf(IConfiguration configuration)
    {
        var configured = configuration[$"{DatabaseOptions.Section}:{nameof(DatabaseOptions.Provider)}"];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return DatabaseProvider.Sqlite;
        }

        return Enum.GetNames<DatabaseProvider>().FirstOrDefault(name => string.Equals(name, configured.Trim(), StringComparison.OrdinalIgnoreCase)) is { } known
            ? Enum.Parse<DatabaseProvider>(known)
            : throw new OptionsValidationException(DatabaseOptions.Section, typeof(DatabaseOptions),
                [$"Database:Provider must be one of {string.Join(", ", Enum.GetNames<DatabaseProvider>())}."]);
    }

    /// <summary>Applies the provider's migrations (never EnsureCreated) and tunes SQLite for concurrent readers.</summary>
    public static async Task MigrateNotificationsDatabaseAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<NotificationsDbContext>();
        await using (await db.AcquireMigrationLockAsync(cancellationToken))
        {
            await db.Database.MigrateAsync(cancellationToken);
        }

        if (db.Database.IsSqlite())
        {
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
    }
}
