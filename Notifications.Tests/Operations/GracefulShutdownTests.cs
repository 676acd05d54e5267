using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Data.Sqlite;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>
/// SIGTERM, as an orchestrator sends it: the process stops accepting connections, closes hub connections (clients
/// reconnect elsewhere), lets the send that is in flight finish and store its notification, and exits with 0.
/// </summary>
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task SIGTERM_stops_accepting_lets_the_in_flight_send_finish_and_exits_0()
    {
        await using var process = OnNewSqliteDatabase(new()
        {
            ["Logging:LogLevel:Notifications.Requests"] = "Debug",
            ["Shutdown:TimeoutSeconds"] = "60",
        }, out var database);
        await process.StartAsync();
        await using var hub = await process.ConnectAsync("shutdown-listener");
        var hubClosed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        hub.Connection.Closed += _ =>
        {
            hubClosed.TrySetResult();
            return Task.CompletedTask;
        };

        // Holding SQLite's write lock keeps the send waiting inside the server until the test lets it go.
        await using var blocker = new SqliteConnection($"Data Source={database};Pooling=False");
        await blocker.OpenAsync();
        await using (var begin = new SqliteCommand("BEGIN IMMEDIATE;", blocker))
        {
            await begin.ExecuteNonQueryAsync();
        }

        using var sender = process.Client("shutdown-sender", "admin");
        var send = sender.PostAsJsonAsync("api/notifications", new { type = "test.shutdown", title = "in flight", audience = new { users = new[] { "someone" } } });
        await Timeouts.Eventually(() => Task.FromResult(process.Output.Contains("Request POST /api/notifications started", StringComparison.Ordinal)),
            "the send to be inside the server");

        var terminated = process.TerminateAsync(TimeSpan.FromSeconds(60));
        await hubClosed.Task.WithTimeout(what: "the hub connection to be closed by the shutdown");
        await Timeouts.Eventually(async () => !await AcceptsConnectionsAsync(process), "the process to stop accepting connections");
        Assert.False(send.IsCompleted, "the send finished before the store was released");

        await using (var release = new SqliteCommand("ROLLBACK;", blocker))
        {
            await release.ExecuteNonQueryAsync();
        }

        using var response = await send.WithTimeout(what: "the in-flight send");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await terminated;
        Assert.Equal(0, process.ExitCode);
        await using var count = new SqliteCommand("""SELECT COUNT(*) FROM "Notifications" WHERE "Title" = 'in flight'""", blocker);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task SIGTERM_deletes_the_outbox_entries_of_the_pushes_already_made()
    {
        // Pushed entries wait for a send to share its transaction; none comes, so only the shutdown deletes them.
        await using var process = OnNewSqliteDatabase(new()
        {
            ["Outbox:LeaseSeconds"] = "600",
            ["Outbox:PushedDeleteDelayMilliseconds"] = "300000",
        }, out var database);
        await process.StartAsync();
        await using var hub = await process.ConnectAsync("shutdown-reader");
        var id = await process.SendAsync("shutdown-sender", new { type = "test.shutdown", title = "pushed", audience = new { users = new[] { "shutdown-reader" } } });
        Assert.Equal(id, (await hub.NextNotificationAsync()).Id);
        Assert.Equal(1L, await OutboxCountAsync(database));

        await process.TerminateAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, process.ExitCode);
        Assert.Equal(0L, await OutboxCountAsync(database));
    }

    [Fact]
    public async Task SIGTERM_refuses_reconnecting_clients_and_exits_without_waiting_for_the_shutdown_timeout()
    {
        // Pushed entries are deleted only by the shutdown (as above): an empty outbox shows the dispatcher had time to stop.
        await using var process = OnNewSqliteDatabase(new()
        {
            ["Shutdown:TimeoutSeconds"] = "20",
            ["Outbox:LeaseSeconds"] = "600",
            ["Outbox:PushedDeleteDelayMilliseconds"] = "300000",
        }, out var database);
        await process.StartAsync();

        var negotiations = new NegotiateRecorder();
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(process.BaseUri, "hubs/notifications"), o =>
            {
                o.AccessTokenProvider = () => Task.FromResult<string?>(TestTokens.For("stopping-reader"));
                o.HttpMessageHandlerFactory = inner => negotiations.Wrap(inner);
            })
            .WithAutomaticReconnect(new QuickRetries())
            .Build();
        await using var hub = new HubClient(connection);
        await hub.StartAsync();
        var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var reconnected = 0;
        connection.Reconnecting += _ =>
        {
            reconnecting.TrySetResult();
            return Task.CompletedTask;
        };
        connection.Reconnected += _ =>
        {
            Interlocked.Increment(ref reconnected);
            return Task.CompletedTask;
        };

        var id = await process.SendAsync("stopping-sender", new { type = "test.shutdown", title = "pushed", audience = new { users = new[] { "stopping-reader" } } });
        Assert.Equal(id, (await hub.NextNotificationAsync()).Id);
        Assert.Equal(1L, await OutboxCountAsync(database));

        negotiations.Recording = true;
        var stopwatch = Stopwatch.StartNew();

        // A bound on a hang (Kestrel waiting out Shutdown:TimeoutSeconds for connections made while stopping), not a
        // performance assertion: an undisturbed shutdown takes about a second.
        await process.TerminateAsync(TimeSpan.FromSeconds(10));
        stopwatch.Stop();
        await reconnecting.Task.WithTimeout(what: "the client to start reconnecting");

        Assert.Equal(0, process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"the shutdown took {stopwatch.Elapsed.TotalSeconds:0.#} s");
        Assert.Equal(0, Volatile.Read(ref reconnected));
        await Timeouts.Eventually(() => Task.FromResult(!negotiations.Outcomes.IsEmpty), "a reconnect attempt");
        Assert.All(negotiations.Outcomes, outcome => Assert.True(outcome is null or HttpStatusCode.ServiceUnavailable, $"a reconnect got {outcome}"));
        Assert.Equal(0L, await OutboxCountAsync(database));
    }

    private static ServiceProcess OnNewSqliteDatabase(Dictionary<string, string?> settings, out string database)
    {
        database = Path.Combine(Directory.CreateTempSubdirectory("notifications-shutdown-").FullName, "n.db");
        return new ServiceProcess(DatabaseSettings.Sqlite(database, settings));
    }

    private static async Task<long> OutboxCountAsync(string database)
    {
        await using var connection = new SqliteConnection($"Data Source={database};Pooling=False");
        await connection.OpenAsync().WithTimeout(what: "a SQLite connection");
        await using var count = new SqliteCommand("""SELECT COUNT(*) FROM "Outbox" """, connection);
        return (long)(await count.ExecuteScalarAsync().WithTimeout(what: "the outbox count"))!;
    }

    private static async Task<bool> AcceptsConnectionsAsync(ServiceProcess process)
    {
        // A fresh client each time: a pooled keep-alive connection would not show whether new ones are accepted.
        using var probe = new HttpClient { BaseAddress = process.BaseUri, Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var response = await probe.GetAsync("health/live");
            return true;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>Reconnects at once, again and again: the clients that a stopping instance must send elsewhere.</summary>
    private sealed class QuickRetries : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext) =>
            retryContext.ElapsedTime < TimeSpan.FromSeconds(60) ? TimeSpan.FromMilliseconds(retryContext.PreviousRetryCount == 0 ? 0 : 20) : null;
    }

    /// <summary>The status of every negotiate while recording, null for one that reached no server.</summary>
    private sealed class NegotiateRecorder
    {
        private volatile bool recording;

        public bool Recording
        {
            get => recording;
            set => recording = value;
        }

        public ConcurrentQueue<HttpStatusCode?> Outcomes { get; } = new();

        public HttpMessageHandler Wrap(HttpMessageHandler inner) => new RecordingHandler(this) { InnerHandler = inner };

        private sealed class RecordingHandler(NegotiateRecorder recorder) : DelegatingHandler
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var negotiate = recorder.Recording && request.RequestUri?.AbsolutePath.EndsWith("/negotiate", StringComparison.Ordinal) == true;
                try
                {
                    var response = await base.SendAsync(request, cancellationToken);
                    if (negotiate)
                    {
                        recorder.Outcomes.Enqueue(response.StatusCode);
                    }

                    return response;
                }
                catch (HttpRequestException) when (negotiate)
                {
                    recorder.Outcomes.Enqueue(null);
                    throw;
                }
            }
        }
    }
}
