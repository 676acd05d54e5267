using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// An instance between <c>ApplicationStopping</c> and its exit: new hub connections are refused with 503 so that
/// reconnecting clients go elsewhere, readiness fails, and everything else is still served.
/// </summary>
public sealed class StoppingInstanceTests(HeldStoppingFixture service) : IClassFixture<HeldStoppingFixture>
{
    [Fact]
    public async Task Once_stopping_new_hub_connections_get_503_readiness_fails_and_the_rest_is_served()
    {
        using var client = service.Client("stopping-user");
        using (var ready = await client.GetAsync("health/ready").WithTimeout(what: "readiness"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        using var negotiatedBefore = await client.PostAsync("hubs/notifications/negotiate?negotiateVersion=1", null).WithTimeout(what: "a negotiate");
        var connectionToken = (await negotiatedBefore.Content.ReadFromJsonAsync<Negotiation>().WithTimeout(what: "the negotiate body"))!.ConnectionToken;

        service.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        await service.Hold.Reached.WithTimeout(what: "the host to be stopping");

        using (var negotiate = await client.PostAsync("hubs/notifications/negotiate?negotiateVersion=1", null).WithTimeout(what: "a negotiate while stopping"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, negotiate.StatusCode);
            Assert.Equal("application/problem+json", negotiate.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(negotiate.Headers.RetryAfter?.Delta);
            Assert.True(negotiate.Headers.ConnectionClose);
        }

        var (upgrade, handshake) = await RawHubSocket.OpenAsync(service.BaseUri, TestTokens.For("stopping-user"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, upgrade);
        Assert.Null(handshake);

        using (var events = new HttpRequestMessage(HttpMethod.Get, $"hubs/notifications?id={Uri.EscapeDataString(connectionToken)}"))
        {
            events.Headers.Accept.ParseAdd("text/event-stream");
            using var response = await client.SendAsync(events).WithTimeout(what: "a Server-Sent Events connect while stopping");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        // A long-polling poll of a connection negotiated before is SignalR's to answer: that connection is closed by now.
        using (var poll = await client.GetAsync($"hubs/notifications?id={Uri.EscapeDataString(connectionToken)}").WithTimeout(what: "a long-polling poll while stopping"))
        {
            Assert.Equal(HttpStatusCode.NotFound, poll.StatusCode);
        }

        using (var ready = await client.GetAsync("health/ready").WithTimeout(what: "readiness while stopping"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        using (var inbox = await client.GetAsync("api/notifications").WithTimeout(what: "the inbox while stopping"))
        {
            Assert.Equal(HttpStatusCode.OK, inbox.StatusCode);
        }

        service.Hold.Release();
    }

    private sealed record Negotiation(string ConnectionToken);
}

/// <summary>
/// A service whose host, once asked to stop, stays between <c>ApplicationStopping</c> and Kestrel's stop until the test
/// releases it: the host's lifecycle services get StoppingAsync before any service, Kestrel included, is stopped.
/// This class's own, as nothing else can use it after.
/// </summary>
public sealed class HeldStoppingFixture : ServiceFixture
{
    public StopHold Hold { get; } = new();

    public override string ProviderName => "Sqlite";

    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() =>
        Task.FromResult(DatabaseSettings.Sqlite(Path.Combine(OwnTempDirectory("notifications-stopping-"), "notifications.db")));

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IHostedService>(Hold);
}

public sealed class StopHold : IHostedLifecycleService
{
    private readonly TaskCompletionSource reached = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Reached => reached.Task;

    public void Release() => released.TrySetResult();

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        reached.TrySetResult();

        // Let go at the host's shutdown timeout too, should a failed test never release it.
        await released.Task.WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
