using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Api.Admin;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.ScaleOut;

/// <summary>
/// Two real API processes (A migrates the database, B does not) on one PostgreSQL database and one real Redis,
/// optionally behind a real nginx. Subclasses are the fixtures; each test class that breaks something gets its own.
/// </summary>
public abstract class ScaleOutCluster : IAsyncLifetime
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    public RedisServer Redis { get; private set; } = null!;

    public ServiceProcess A { get; private set; } = null!;

    public ServiceProcess B { get; private set; } = null!;

    public NginxServer? Nginx { get; private set; }

    /// <summary>B's link to Redis, when it goes through a forwarder (<see cref="WithBLinkToCut"/>): cut it to part B from Redis alone.</summary>
    public TcpForwarder? BLink { get; private set; }

    public IReadOnlyList<ServiceProcess> Instances => [A, B];

    protected virtual bool WithNginx => false;

    /// <summary>Whether the instances also accept MessagePack clients (<c>Hub:MessagePack</c>).</summary>
    protected virtual bool WithMessagePack => false;

    /// <summary>Whether B reaches Redis through a forwarder the tests can cut (<see cref="BLink"/>), A directly.</summary>
    protected virtual bool WithBLinkToCut => false;

    /// <summary>More settings for both instances.</summary>
    protected virtual IReadOnlyDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        BLink = WithBLinkToCut ? new TcpForwarder(Redis.Port) : null;
        A = new ServiceProcess(Settings(database, migrate: true, Redis.Configuration));
        B = new ServiceProcess(Settings(database, migrate: false, BLink is null ? Redis.Configuration : RedisServer.ConfigurationVia(BLink.Port)));

        // B serves without migrating; A is live only once its migration ran (it migrates before it listens).
        // Generous: the machine's two cores are shared with other test runs.
        await Task.WhenAll(A.StartAsync(StartTimeout), B.StartAsync(StartTimeout));
        foreach (var instance in Instances)
        {
            await Timeouts.Eventually(async () => await ReadinessAsync(instance) == HttpStatusCode.OK, $"instance :{instance.Port} is ready");
        }

        if (WithNginx)
        {
            Nginx = await NginxServer.StartAsync([A.Port, B.Port]);
        }
    }

    public async Task DisposeAsync()
    {
        if (Nginx is not null)
        {
            await Nginx.DisposeAsync();
        }

        // Null when InitializeAsync failed part-way: dispose what was started.
        await Task.WhenAll(new[] { A, B }.Where(i => i is not null).Select(i => i.DisposeAsync().AsTask()));
        if (BLink is not null)
        {
            await BLink.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }
    }

    public static async Task<HttpStatusCode> ReadinessAsync(ServiceProcess instance)
    {
        using var http = new HttpClient { BaseAddress = instance.BaseUri, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync("health/ready");
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return HttpStatusCode.BadGateway;
        }
        catch (TaskCanceledException)
        {
            return HttpStatusCode.GatewayTimeout;
        }
    }

    /// <summary>A hub client straight on one instance; returns once the hub has put it in its groups.</summary>
    public static Task<HubClient> ConnectAsync(ServiceProcess instance, string userId, params string[] roles) =>
        StartAsync(HubClient.Builder(instance.BaseUri, () => TestTokens.For(userId, roles)).Build());

    /// <summary>Like <see cref="ConnectAsync"/>, with automatic reconnect (quick retries), as real clients have it.</summary>
    public static Task<HubClient> ConnectReconnectingAsync(ServiceProcess instance, string userId) =>
        StartAsync(HubClient.Builder(instance.BaseUri, () => TestTokens.For(userId))
            .WithAutomaticReconnect([TimeSpan.Zero, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2)])
            .Build());

    /// <summary>A hub client through nginx, from the loopback network 127.0.<paramref name="network"/>.x.</summary>
    public Task<HubClient> ConnectThroughNginxAsync(int network, string userId, HttpTransportType transport = HttpTransportType.WebSockets) =>
        StartAsync(new HubConnectionBuilder()
            .WithUrl(new Uri(Nginx!.BaseUri, "hubs/notifications"), o =>
            {
                o.Transports = transport;
                o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For(userId));
                LoopbackSource.Apply(o, LoopbackSource.Network(network), () => TestTokens.For(userId));
            })
            .Build());

    /// <summary>Sends through the given instance as an admin; returns the new id.</summary>
    public static Task<long> SendAsync(ServiceProcess via, object request) => via.SendAsync("admin-1", request);

    public static async Task<ClusterStats> StatsAsync(ServiceProcess via)
    {
        using var http = via.Client("admin-1", "admin");
        return (await http.GetFromJsonAsync<ClusterStats>("api/admin/stats").WithTimeout(what: "admin stats"))!;
    }

    public static async Task CreateGroupAsync(ServiceProcess via, string group, string kind)
    {
        using var admin = via.Client("admin-1", "admin");
        await admin.CreateGroupAsync(group, kind);
    }

    private static async Task<HubClient> StartAsync(HubConnection connection)
    {
        var client = new HubClient(connection);
        await client.StartAsync();
        await client.InGroupsAsync();
        return client;
    }

    private Dictionary<string, string?> Settings(string connectionString, bool migrate, string redisConfiguration) => DatabaseSettings.Postgres(connectionString, new(ExtraSettings)
    {
        ["Database:MigrateOnStartup"] = migrate ? "true" : "false",
        ["Redis:Configuration"] = redisConfiguration,
        ["Hub:MessagePack"] = WithMessagePack ? "true" : "false",
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "HH:mm:ss.fff ",
        ["Logging:LogLevel:Notifications"] = "Information",
        ["Logging:LogLevel:Notifications.Requests"] = "Warning",
        ["Logging:LogLevel:Microsoft.AspNetCore.SignalR.StackExchangeRedis"] = "Information",
    });
}

public sealed class CrossInstanceCluster : ScaleOutCluster
{
    protected override bool WithNginx => true;

    protected override bool WithMessagePack => true;
}

public sealed class BackplaneCluster : ScaleOutCluster;

public sealed class InstanceFailureCluster : ScaleOutCluster
{
    protected override bool WithNginx => true;
}

public sealed class StoppingInstanceCluster : ScaleOutCluster;

public sealed class OutageReplayCluster : ScaleOutCluster
{
    protected override bool WithBLinkToCut => true;
}

/// <summary>Sends whose transaction is held open for up to 1.5 s, so that a join on the other instance can land in between.</summary>
public sealed class SlowSendCommitCluster : ScaleOutCluster
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Faults:SendCommitDelayMs"] = "1500",
    };
}

/// <summary>
/// All scale-out classes run one after the other: each cluster is several processes, and started side by side on a
/// shared two-core machine they would mostly slow each other down. Classes that break their cluster get their own.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ScaleOutCollection : ICollectionFixture<CrossInstanceCluster>
{
    public const string Name = "Scale-out: real instances, Redis and nginx";
}
