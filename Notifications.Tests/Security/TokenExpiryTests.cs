using Microsoft.AspNetCore.SignalR.Client;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Security;

/// <summary>
/// A token outliving its connection is a known SignalR pitfall: the server checks tokens only at connect. With
/// CloseOnAuthenticationExpiration the server closes a connection at its token's <c>exp</c> (the clock skew applies
/// to validation at connect, not to this close); clients then reconnect with a fresh token.
/// </summary>
public sealed class TokenExpiryTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    /// <summary>Long enough to connect on a busy machine, short enough to wait for.</summary>
    private static readonly TimeSpan ShortLifetime = TimeSpan.FromSeconds(6);

    /// <summary>Generous: the server checks expiry once a second, and the machine may be busy.</summary>
    private static readonly TimeSpan CloseWithin = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_connection_is_closed_when_its_token_expires()
    {
        await using var lasting = await service.ConnectAsync("lasting-user");
        var shortToken = TestTokens.Create("expiring-user", [], ShortLifetime);
        await using var expiring = await service.ConnectWithTokenAsync(() => shortToken);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        expiring.Connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        Assert.Equal(0, await expiring.InvokeAsync<int>("GetUnreadCount"));

        await closed.Task.WithTimeout(CloseWithin, "the server to close the connection whose token expired");

        Assert.Equal(HubConnectionState.Disconnected, expiring.Connection.State);
        Assert.Equal(HubConnectionState.Connected, lasting.Connection.State);
        Assert.Equal(0, await lasting.InvokeAsync<int>("GetUnreadCount"));
    }

    [Fact]
    public async Task The_dotnet_client_reconnects_with_a_fresh_token_after_its_token_expired()
    {
        var user = TestUsers.New("refresh");
        var issued = new List<DateTime>();
        var started = false;
        var options = new NotificationsClientOptions(service.BaseUri, _ =>
        {
            lock (issued)
            {
                // Tokens for the first connection (negotiate and transport each ask) expire soon; a reconnect gets a longer one.
                var lifetime = Volatile.Read(ref started) ? TimeSpan.FromHours(1) : ShortLifetime;
                issued.Add(DateTime.UtcNow);
                return Task.FromResult(TestTokens.Create(user, [], lifetime, issuedAt: DateTime.UtcNow));
            }
        })
        {
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250)],
        };
        var received = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await (await service.ConnectAsync("warm-up")).DisposeAsync();
        await using var client = new NotificationsClient(options);
        client.NotificationReceived += n =>
        {
            received.TrySetResult(n.Id);
            return Task.CompletedTask;
        };
        await client.StartAsync().WithTimeout(what: "the SDK client to start");
        var firstConnection = client.ConnectionId;
        var callsForFirstConnection = TokenCalls(issued);
        Volatile.Write(ref started, true);

        await Timeouts.Eventually(
            () => Task.FromResult(TokenCalls(issued) > callsForFirstConnection && client.State == NotificationsConnectionState.Connected && client.ConnectionId != firstConnection),
            "the client to be closed at expiry and to reconnect with a new token", CloseWithin);

        var id = await service.SendAsync("expiry-sender", new { type = "test.expiry", title = "after refresh", audience = new { users = new[] { user } } });
        Assert.Equal(id, await received.Task.WithTimeout(what: "the notification over the refreshed connection"));
    }

    private static int TokenCalls(List<DateTime> issued)
    {
        lock (issued)
        {
            return issued.Count;
        }
    }
}
