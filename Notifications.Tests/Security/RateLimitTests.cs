using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// The rate limiter middleware on the send API (per sender) and a hub filter on hub calls (per user), here with
/// limits of <see cref="HardenedServiceFixture.SendsPerMinute"/> and <see cref="HardenedServiceFixture.HubInvocationsPerMinute"/>.
/// The windows move only with the fixture's clock; tests run one at a time within a class, so one test moving it ends
/// no window another test is in.
/// </summary>
public sealed class RateLimitTests(HardenedServiceFixture service) : IClassFixture<HardenedServiceFixture>
{
    [Fact]
    public async Task Sends_over_the_limit_get_429_ProblemDetails_with_Retry_After_seconds()
    {
        var sender = TestUsers.New("busy-sender", 24);
        using var client = service.Client(sender, "admin");
        for (var i = 0; i < HardenedServiceFixture.SendsPerMinute; i++)
        {
            using var accepted = await client.PostAsJsonAsync("api/notifications", Notification(i)).WithTimeout();
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }

        using var refused = await client.PostAsJsonAsync("api/notifications", Notification(99)).WithTimeout();

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), CultureInfo.InvariantCulture);
        Assert.InRange(retryAfter, 1, 60);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync().WithTimeout());
        Assert.Equal(429, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("Too many requests", problem.RootElement.GetProperty("title").GetString());
        var detail = problem.RootElement.GetProperty("detail").GetString();
        Assert.Contains($"At most {HardenedServiceFixture.SendsPerMinute} sends per minute per sender", detail, StringComparison.Ordinal);
        Assert.EndsWith($"retry in {retryAfter} s.", detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_refused_sends_Retry_After_is_the_time_left_in_the_senders_window()
    {
        using var client = service.Client(TestUsers.New("timed-sender", 24), "admin");
        for (var i = 0; i < HardenedServiceFixture.SendsPerMinute; i++)
        {
            using var accepted = await client.PostAsJsonAsync("api/notifications", Notification(i)).WithTimeout();
            Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        }

        var atStart = await RefusedSendAsync(client);
        service.Clock.Advance(TimeSpan.FromSeconds(45));
        var later = await RefusedSendAsync(client);
        service.Clock.Advance(TimeSpan.FromSeconds(14.5));
        var nearTheEnd = await RefusedSendAsync(client);
        service.Clock.Advance(TimeSpan.FromSeconds(0.5));
        using var nextWindow = await client.PostAsJsonAsync("api/notifications", Notification(100)).WithTimeout();

        Assert.Equal((60, 15, 1), (atStart, later, nearTheEnd));
        Assert.Equal(HttpStatusCode.Created, nextWindow.StatusCode);
    }

    [Fact]
    public async Task A_refused_hub_call_says_the_time_left_in_the_users_window()
    {
        await using var hub = await service.ConnectAsync(TestUsers.New("timed-caller", 24));
        for (var i = 0; i < HardenedServiceFixture.HubInvocationsPerMinute; i++)
        {
            await hub.InvokeAsync<int>("GetUnreadCount");
        }

        var atStart = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<int>("GetUnreadCount"));
        service.Clock.Advance(TimeSpan.FromSeconds(20));
        var later = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<int>("GetUnreadCount"));
        service.Clock.Advance(TimeSpan.FromSeconds(40));

        Assert.EndsWith("retry in 60 s.", atStart.Message, StringComparison.Ordinal);
        Assert.EndsWith("retry in 40 s.", later.Message, StringComparison.Ordinal);
        Assert.Equal(0, await hub.InvokeAsync<int>("GetUnreadCount"));
    }

    /// <summary>Sends once more, expecting 429; returns its Retry-After after checking the detail says the same.</summary>
    private static async Task<int> RefusedSendAsync(HttpClient client)
    {
        using var refused = await client.PostAsJsonAsync("api/notifications", Notification(99)).WithTimeout();
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        var retryAfter = int.Parse(Assert.Single(refused.Headers.GetValues("Retry-After")), CultureInfo.InvariantCulture);
        using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync().WithTimeout());
        Assert.EndsWith($"retry in {retryAfter} s.", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        return retryAfter;
    }

    [Fact]
    public async Task The_send_limit_is_per_sender_and_leaves_reads_alone()
    {
        var (noisy, quiet) = (TestUsers.New("noisy", 24), TestUsers.New("quiet", 24));
        using var noisyClient = service.Client(noisy, "admin");
        var noisyStatuses = new List<HttpStatusCode>();
        for (var i = 0; i <= HardenedServiceFixture.SendsPerMinute; i++)
        {
            using var sent = await noisyClient.PostAsJsonAsync("api/notifications", Notification(i)).WithTimeout();
            noisyStatuses.Add(sent.StatusCode);
        }

        using var quietClient = service.Client(quiet, "admin");
        using var quietSend = await quietClient.PostAsJsonAsync("api/notifications", Notification(0)).WithTimeout();
        using var noisyRead = await noisyClient.GetAsync("api/notifications/unread-count").WithTimeout();

        Assert.Equal(HttpStatusCode.TooManyRequests, noisyStatuses[^1]);
        Assert.Equal(HttpStatusCode.Created, quietSend.StatusCode);
        Assert.Equal(HttpStatusCode.OK, noisyRead.StatusCode);
    }

    [Fact]
    public async Task Hub_calls_over_the_limit_get_HubException_rate_limited_across_the_users_connections()
    {
        var user = TestUsers.New("chatty", 24);
        await using var first = await service.ConnectAsync(user);
        await using var second = await service.ConnectAsync(user);
        await using var otherUser = await service.ConnectAsync(TestUsers.New("calm", 24));
        for (var i = 0; i < HardenedServiceFixture.HubInvocationsPerMinute; i++)
        {
            await (i % 2 == 0 ? first : second).InvokeAsync<int>("GetUnreadCount");
        }

        var onFirst = await Assert.ThrowsAsync<HubException>(() => first.InvokeAsync<int>("GetUnreadCount"));
        var onSecond = await Assert.ThrowsAsync<HubException>(() => second.InvokeAsync("MarkAllRead"));

        Assert.Contains("rate limited", onFirst.Message, StringComparison.Ordinal);
        Assert.Contains("rate limited", onSecond.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, first.Connection.State);
        Assert.Equal(0, await otherUser.InvokeAsync<int>("GetUnreadCount"));
    }

    private static object Notification(int i) => new { type = "test.rate", title = $"rate {i}", audience = new { users = new[] { "nobody" } } };
}
