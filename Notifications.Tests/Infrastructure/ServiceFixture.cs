using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Notifications.Tests.Infrastructure;

/// <summary>
/// The service on real Kestrel (127.0.0.1, a free port) with a real database, reached over HTTP and WebSockets
/// exactly as clients reach it. Subclasses choose the database.
/// </summary>
public abstract class ServiceFixture : IAsyncLifetime
{
    private readonly Dictionary<string, string> temporaryDirectories = [];
    private WebApplicationFactory<Program>? factory;

    public Uri BaseUri { get; private set; } = null!;

    public IServiceProvider Services => factory!.Services;

    public abstract string ProviderName { get; }

    /// <summary>Extra settings for this fixture (merged over the defaults).</summary>
    protected virtual Dictionary<string, string?> ExtraSettings() => [];

    protected abstract Task<Dictionary<string, string?>> DatabaseSettingsAsync();

    /// <summary>Replaces or adds app services (a test clock, a log capture), applied after the app's own registrations.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>
    /// A temp directory of this fixture's own (the same one for the same prefix), created on first use and deleted
    /// when the fixture is disposed.
    /// </summary>
    protected string OwnTempDirectory(string prefix)
    {
        lock (temporaryDirectories)
        {
            if (!temporaryDirectories.TryGetValue(prefix, out var path))
            {
                path = Directory.CreateTempSubdirectory(prefix).FullName;
                temporaryDirectories[prefix] = path;
            }

            return path;
        }
    }

    public async Task InitializeAsync()
    {
        var settings = TestTokens.ServerSettings();
        foreach (var (key, value) in await DatabaseSettingsAsync())
        {
            settings[key] = value;
        }

        foreach (var (key, value) in ExtraSettings())
        {
            settings[key] = value;
        }

        factory = new KestrelFactory(settings, ConfigureServices);
        factory.UseKestrel(0);
        factory.StartServer();
        var address = factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseUri = new Uri(address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/') + "/");
        await Task.CompletedTask;
    }

    public HttpClient Client(string userId, params string[] roles) => ClientWithToken(TestTokens.For(userId, roles));

    public HttpClient ClientWithToken(string? token)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = Timeouts.Default };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public HttpClient Anonymous() => ClientWithToken(null);

    public Task<HubClient> ConnectAsync(string userId, params string[] roles) => ConnectWithTokenAsync(() => TestTokens.For(userId, roles));

    public async Task<HubClient> ConnectWithTokenAsync(Func<string> token, Action<IHubConnectionBuilder>? configure = null)
    {
        var builder = HubClient.Builder(BaseUri, token);
        configure?.Invoke(builder);
        return await HubClient.ConnectAsync(builder);
    }

    /// <summary>Sends as the given user and returns the new id; fails the test on any other status.</summary>
    public async Task<long> SendAsync(string senderId, object request, params string[] senderRoles)
    {
        using var client = Client(senderId, senderRoles.Length == 0 ? ["admin"] : senderRoles);
        return (await client.SendNotificationAsync(request)).Id;
    }

    public async Task DisposeAsync()
    {
        if (factory is not null)
        {
            await factory.DisposeAsync();
        }

        lock (temporaryDirectories)
        {
            foreach (var path in temporaryDirectories.Values)
            {
                TestRunCleanup.DeleteDirectory(path);
            }

            temporaryDirectories.Clear();
        }
    }
}

/// <summary>The app with test settings, on Kestrel bound to a free loopback port.</summary>
internal sealed class KestrelFactory(Dictionary<string, string?> settings, Action<IServiceCollection>? configureServices = null) : WebApplicationFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }
}

public sealed class SqliteServiceFixture : ServiceFixture
{
    public override string ProviderName => "Sqlite";

    private string DatabaseDirectory => OwnTempDirectory("notifications-sqlite-");

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(DatabaseDirectory, "notifications.db")));
}

public sealed class PostgresServiceFixture : ServiceFixture
{
    public override string ProviderName => "Postgres";

    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        var server = await PostgresServer.SharedAsync();
        return DatabaseSettings.Postgres(await server.CreateDatabaseAsync());
    }
}
