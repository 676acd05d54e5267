using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Infrastructure.Data;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>Sizes and counts that keep one client from exhausting the server: hub frames, send bodies, connections per user.</summary>
public sealed class LimitsTests(HardenedServiceFixture service) : IClassFixture<HardenedServiceFixture>
{
    private const int HubMessageLimit = 32 * 1024;
    private const int BodyLimit = 64 * 1024;

    [Fact]
    public async Task A_hub_message_over_32_KB_closes_the_connection()
    {
        await using var hub = await service.ConnectAsync(TestUsers.New("big-frame", 24));
        var closed = ClosedSignal(hub.Connection);

        var failed = await Record.ExceptionAsync(() => hub.InvokeAsync("Subscribe", new string('x', HubMessageLimit + 1024)));

        Assert.NotNull(failed);
        Assert.NotNull(await closed.WithTimeout(what: "the server to close the connection"));
        Assert.Equal(HubConnectionState.Disconnected, hub.Connection.State);
    }

    [Fact]
    public async Task A_hub_message_under_32_KB_is_answered_and_the_connection_stays()
    {
        await using var hub = await service.ConnectAsync(TestUsers.New("fits-frame", 24));

        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("Subscribe", new string('x', HubMessageLimit - 1024)));

        Assert.False(string.IsNullOrWhiteSpace(error.Message));
        Assert.Equal(HubConnectionState.Connected, hub.Connection.State);
    }

    [Fact]
    public async Task A_send_body_over_64_KB_gets_413_ProblemDetails_and_stores_nothing()
    {
        var before = await NotificationCountAsync();
        using var client = service.Client(TestUsers.New("big-body", 24), "admin");
        using var content = new StringContent(SendBody(BodyLimit + 1), Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        await AssertPayloadTooLargeAsync(response);
        Assert.Equal(before, await NotificationCountAsync());
    }

    [Fact]
    public async Task A_chunked_send_body_over_64_KB_gets_413_ProblemDetails_and_stores_nothing()
    {
        var before = await NotificationCountAsync();
        using var client = service.Client(TestUsers.New("chunked-body", 24), "admin");

        // No Content-Length: the cap must hold while reading, not only on the declared length.
        using var content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(SendBody(BodyLimit * 2))));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        await AssertPayloadTooLargeAsync(response);
        Assert.Equal(before, await NotificationCountAsync());
    }

    [Fact]
    public async Task A_send_body_just_under_64_KB_is_not_refused_for_its_size()
    {
        using var client = service.Client(TestUsers.New("max-body", 24), "admin");
        using var content = new StringContent(SendBody(BodyLimit - 100), Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("api/notifications", content).WithTimeout();

        // The body is too long for the contract (4,000 chars), so it is a validation error, not a size refusal.
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_user_over_the_connection_cap_is_refused_with_a_reason_and_other_users_are_not()
    {
        var user = TestUsers.New("many-tabs", 24);
        await using var first = await service.ConnectAsync(user);
        await using var second = await service.ConnectAsync(user);

        var reason = await RefusedConnectionReasonAsync(user);

        Assert.Contains($"Too many connections: a user may hold at most {HardenedServiceFixture.MaxConnectionsPerUser} hub connections", reason, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, first.Connection.State);
        await using var otherUser = await service.ConnectAsync(TestUsers.New("other-user", 24));
        Assert.Equal(0, await otherUser.InvokeAsync<int>("GetUnreadCount"));

        // A closed connection frees its slot.
        await second.StopAsync();
        await Timeouts.Eventually(() => CanConnectAndCallAsync(user), "a new connection of the user to be accepted after one closed");
    }

    private async Task<string> RefusedConnectionReasonAsync(string user)
    {
        var connection = HubClient.Builder(service.BaseUri, () => TestTokens.For(user)).Build();
        await using var hub = new HubClient(connection);
        var closed = ClosedSignal(connection);

        // The close comes right after the handshake: StartAsync may see it or may already have returned.
        var startError = await Record.ExceptionAsync(() => hub.StartAsync());
        var error = startError ?? await closed.WithTimeout(what: "the refused connection to be closed");
        Assert.NotNull(error);
        return error.Message;
    }

    private async Task<bool> CanConnectAndCallAsync(string user)
    {
        try
        {
            await using var hub = await service.ConnectAsync(user);
            await hub.InvokeAsync<int>("GetUnreadCount");
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or HubException or TaskCanceledException or IOException)
        {
            return false;
        }
    }

    private static Task<Exception?> ClosedSignal(HubConnection connection)
    {
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        return closed.Task;
    }

    private static async Task AssertPayloadTooLargeAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(413, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Payload too large", problem.RootElement.GetProperty("title").GetString());
        Assert.Contains("at most 65536 bytes", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>A send request whose body text pads the JSON to exactly <paramref name="totalBytes"/> bytes.</summary>
    private static string SendBody(int totalBytes)
    {
        const string Prefix = "{\"type\":\"test.size\",\"title\":\"size\",\"audience\":{\"everyone\":true},\"body\":\"";
        const string Suffix = "\"}";
        return Prefix + new string('a', totalBytes - Prefix.Length - Suffix.Length) + Suffix;
    }

    private async Task<int> NotificationCountAsync()
    {
        await using var scope = service.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<NotificationsDbContext>().Notifications.CountAsync();
    }

    /// <summary>Makes HttpClient send the body chunked (its length cannot be known up front).</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
