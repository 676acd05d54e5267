using System.Net.Http.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Notifications.Api.Inbox;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// The SDK's promise across drops: every notification sent while it was away arrives exactly once, through the
/// catch-up sync it runs on each reconnect, and each reconnect asks the app for a fresh token.
/// </summary>
public sealed class ClientReconnectTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    [Fact]
    public async Task Reconnect_after_a_server_crash_delivers_each_missed_notification_exactly_once()
    {
        var directory = Directory.CreateTempSubdirectory("notifications-client-").FullName;
        var settings = DatabaseSettings.Sqlite(Path.Combine(directory, "n.db"));
        var user = TestUsers.New("olga");
        var tokens = new TokenSource(user);
        var logs = new CapturedLogs(LogLevel.Debug);
        await using var serverA = new ServiceProcess(settings);
        await using var serverB = new ServiceProcess(settings, serverA.Port);
        try
        {
            await serverA.StartAsync();
            await using var client = await ClientRecorder.StartAsync(new NotificationsClientOptions(serverA.BaseUri, tokens.GetAsync)
            {
                ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250)],
                ReorderWindow = TimeSpan.FromMinutes(5),
                LoggerFactory = logs.CreateFactory(),
            });
            var beforeCrash = await SendAsync(serverA, user, "before the crash");
            await client.ReceiveThroughAsync(beforeCrash);
            var callsBeforeCrash = tokens.Calls;

            // The reconnect waits in the token provider, so nothing sent meanwhile can reach it live.
            tokens.Hold(() => true);
            await serverA.KillAsync();
            await client.WaitForStateAsync(NotificationsConnectionState.Reconnecting);
            await tokens.WaitUntilHeldAsync();
            await serverB.StartAsync();

            // Another connection of the user sees the live pushes: once it has all three, server B has pushed them,
            // while the SDK client was provably not connected.
            await using var witness = await serverB.ConnectAsync(user);
            long[] missed = [await SendAsync(serverB, user, "missed 1"), await SendAsync(serverB, user, "missed 2"), await SendAsync(serverB, user, "missed 3")];
            var pushed = new HashSet<long>();
            while (!pushed.IsSupersetOf(missed))
            {
                pushed.Add((await witness.NextNotificationAsync()).Id);
            }

            Assert.Equal(NotificationsConnectionState.Reconnecting, client.Client.State);
            Assert.Equal([beforeCrash], client.DeliveredIds);

            tokens.Release();
            var caughtUp = await client.ReceiveThroughAsync(missed[^1]);
            await client.WaitForStateAsync(NotificationsConnectionState.Connected);
            var afterReconnect = await SendAsync(serverB, user, "live again");
            var live = await client.ReceiveThroughAsync(afterReconnect);

            long[] expected = [beforeCrash, .. missed, afterReconnect];
            Assert.True(expected.SequenceEqual(client.DeliveredIds), $"Raised {string.Join(",", client.DeliveredIds)}, expected {string.Join(",", expected)}. Client log:\n{logs.Lines("Notifications.Client")}");
            Assert.Equal(missed, caughtUp.Select(n => n.Id));
            Assert.Equal([afterReconnect], live.Select(n => n.Id));
            Assert.Equal(afterReconnect, client.Client.Cursor);

            // The catch-up re-fetched the id received just before the drop (reorder window) and dropped it as a duplicate.
            Assert.Contains(logs.Entries, e => e.Event.Id == 2 && e.Text.Contains($" {beforeCrash}:", StringComparison.Ordinal));

            Assert.True(tokens.Calls > callsBeforeCrash, "the reconnect asked the token provider again");
            Assert.Equal(tokens.Issued.Count, tokens.Issued.Distinct().Count());
            Assert.DoesNotContain(logs.Entries, e => tokens.Issued.Any(t => e.Text.Contains(t, StringComparison.Ordinal)));
            Assert.DoesNotContain(logs.Entries, e => e.Text.Contains("missed 1", StringComparison.Ordinal));
        }
        finally
        {
            tokens.Release();
            await serverA.KillAsync();
            await serverB.KillAsync();
            DeleteQuietly(directory);
        }
    }

    [Fact]
    public async Task Expired_token_closes_the_connection_and_the_client_returns_with_a_fresh_token_and_catches_up()
    {
        var user = TestUsers.New("pete");

        NotificationsClient? sdk = null;
        bool Starting() => sdk!.State == NotificationsConnectionState.Connecting;

        // Tokens of the first connect live two seconds: the server then closes it (CloseOnAuthenticationExpiration).
        // Every later ask waits at the gate, so what is sent meanwhile provably cannot arrive live.
        var tokens = new TokenSource(user) { Lifetime = () => Starting() ? TimeSpan.FromSeconds(2) : TimeSpan.FromHours(1) };
        tokens.Hold(() => !Starting());
        await using var client = new ClientRecorder(new NotificationsClientOptions(service.BaseUri, tokens.GetAsync)
        {
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250)],
        });
        sdk = client.Client;
        await client.Client.StartAsync().WithTimeout(what: "the SDK client to start");
        try
        {
            await tokens.WaitUntilHeldAsync(TimeSpan.FromSeconds(30));
            var whileAway = await service.SendAsync("admin-1", TestUsers.Notification("while away", user));
            Assert.Equal(NotificationsConnectionState.Reconnecting, client.Client.State);

            tokens.Release();
            Assert.Equal([whileAway], (await client.ReceiveThroughAsync(whileAway)).Select(n => n.Id));
            var sentinel = await service.SendAsync("admin-1", TestUsers.Notification("sentinel", user));
            await client.ReceiveThroughAsync(sentinel);

            Assert.Equal([whileAway, sentinel], client.DeliveredIds);
            Assert.True(tokens.Calls >= 2, "the client asked for a new token after the old one expired");
            Assert.Equal(tokens.Issued.Count, tokens.Issued.Distinct().Count());
        }
        finally
        {
            tokens.Release();
        }
    }

    [Fact]
    public async Task An_app_following_the_readme_ends_a_reconnect_with_the_servers_unread_count_though_another_device_read_all_meanwhile()
    {
        var user = TestUsers.New("ruth");

        NotificationsClient? sdk = null;
        bool Starting() => sdk!.State == NotificationsConnectionState.Connecting;

        // As above: the first connect's token expires (after five seconds: the start and two live pushes come first, also
        // on a busy machine), and the reconnect waits at the gate.
        var tokens = new TokenSource(user) { Lifetime = () => Starting() ? TimeSpan.FromSeconds(5) : TimeSpan.FromHours(1) };
        tokens.Hold(() => !Starting());
        await using var client = new ClientRecorder(new NotificationsClientOptions(service.BaseUri, tokens.GetAsync)
        {
            ReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(250)],
        });
        sdk = client.Client;
        var app = new BadgeApp(client.Client);
        await client.Client.StartAsync().WithTimeout(what: "the SDK client to start");
        try
        {
            Assert.False((await client.NextSyncAsync()).Info.Reconnected);
            long[] shown = [await Send(user, "one"), await Send(user, "two")];
            await app.WaitForAsync($"received {shown[^1]}");
            Assert.Equal(2, app.Badge);

            await tokens.WaitUntilHeldAsync(TimeSpan.FromSeconds(30));
            using var otherDevice = service.Client(user);
            (await otherDevice.PostAsync("api/notifications/read-all", null).WithTimeout(what: "the other device's read-all")).EnsureSuccessStatusCode();
            long[] missed = [await Send(user, "missed 1"), await Send(user, "missed 2"), await Send(user, "missed, then archived")];
            (await otherDevice.PostAsync($"api/notifications/{missed[^1]}/archive", null).WithTimeout(what: "the archive")).EnsureSuccessStatusCode();
            Assert.Equal(NotificationsConnectionState.Reconnecting, client.Client.State);

            tokens.Release();
            var resync = await client.NextReconnectSyncAsync();
            await app.WaitForAsync("resynced");

            // Synced came after the catch-up raised every missed notification, and the count fetched there is the truth.
            Assert.Equal([.. shown, .. missed], resync.RaisedBefore);
            Assert.Equal(missed.Length, resync.Info.Received);
            Assert.Equal(missed[^1], resync.Info.Cursor);
            Assert.Equal(2, await ServerCountAsync(otherDevice));
            Assert.Equal(2, app.Badge);

            // Live changes apply on top of it.
            var live = await Send(user, "live again");
            await app.WaitForAsync($"received {live}");
            Assert.Equal(3, await ServerCountAsync(otherDevice));
            Assert.Equal(3, app.Badge);
        }
        finally
        {
            tokens.Release();
        }
    }

    private static async Task<int> ServerCountAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<UnreadCount>("api/notifications/unread-count").WithTimeout(what: "the unread count"))!.Count;

    private Task<long> Send(string user, string title) => service.SendAsync("admin-1", TestUsers.Notification(title, user));

    private static Task<long> SendAsync(ServiceProcess server, string user, string title) => server.SendAsync("admin-1", TestUsers.Notification(title, user));

    private static void DeleteQuietly(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>An app's unread badge, kept by the rules of Notifications.Client/README.md ("Unread badge").</summary>
    private sealed class BadgeApp
    {
        private readonly Channel<string> steps = Channel.CreateUnbounded<string>();
        private int badge;

        public BadgeApp(NotificationsClient client)
        {
            // Handlers run one at a time, so these updates never race; the test reads the badge between steps.
            client.Synced += async info =>
            {
                Volatile.Write(ref badge, await client.GetUnreadCountAsync());
                steps.Writer.TryWrite(info.Reconnected ? "resynced" : "synced");
            };
            client.NotificationReceived += n =>
            {
                if (n.ReadAt is null && n.ArchivedAt is null)
                {
                    Interlocked.Increment(ref badge);
                }

                steps.Writer.TryWrite($"received {n.Id}");
                return Task.CompletedTask;
            };
            client.UnreadCountChanged += count =>
            {
                Volatile.Write(ref badge, count);
                steps.Writer.TryWrite("count pushed");
                return Task.CompletedTask;
            };
        }

        public int Badge => Volatile.Read(ref badge);

        /// <summary>Reads the app's steps until <paramref name="step"/> is done.</summary>
        public async Task WaitForAsync(string step)
        {
            while (await steps.Reader.ReadAsync().AsTask().WithTimeout(what: $"the app's step '{step}'") != step)
            {
            }
        }
    }
}
