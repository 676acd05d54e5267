using System.Net;
using System.Net.Http.Json;
using Notifications.Api.Admin;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Browser;

/// <summary>
/// A second API process for browser tests that stop Redis: configured with a real redis-server the test can kill and
/// start again, otherwise like <see cref="BrowserFixture"/>'s (Development, temp SQLite). The browser itself is still
/// <see cref="BrowserFixture"/>'s; pages reach this instance through absolute URLs (<see cref="Url"/>).
/// </summary>
public sealed class RedisDashboardFixture : IAsyncLifetime
{
    private readonly string directory = Directory.CreateTempSubdirectory("notifications-browser-redis-").FullName;

    public RedisServer Redis { get; private set; } = null!;

    public ServiceProcess Server { get; private set; } = null!;

    /// <summary>An absolute URL on this instance, for <c>Page.GotoAsync</c> (the session's base URL is the other instance).</summary>
    public string Url(string path) => new Uri(Server.BaseUri, path).ToString();

    public async Task InitializeAsync()
    {
        Redis = await RedisServer.StartAsync();
        Server = new ServiceProcess(DatabaseSettings.Sqlite(Path.Combine(directory, "notifications.db"), new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["Redis:Configuration"] = Redis.Configuration,
        }));
        await Server.StartAsync(TimeSpan.FromSeconds(90));
        await Timeouts.Eventually(async () => await ReadinessAsync() == HttpStatusCode.OK, "the instance is ready with Redis");
    }

    public Task<HttpStatusCode> ReadinessAsync() => ScaleOut.ScaleOutCluster.ReadinessAsync(Server);

    /// <summary>What <c>GET /api/admin/stats</c> answers an admin right now.</summary>
    public async Task<ClusterStats> StatsAsync()
    {
        using var http = Server.Client("stats-admin", "admin");
        return (await http.GetFromJsonAsync<ClusterStats>("api/admin/stats").WithTimeout(what: "admin stats"))!;
    }

    public async Task DisposeAsync()
    {
        // Null when InitializeAsync failed part-way: dispose what was started.
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (Redis is not null)
        {
            await Redis.DisposeAsync();
        }

        TestRunCleanup.DeleteDirectory(directory);
    }
}
