using System.Text;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Notifications.Client;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Client;

/// <summary>
/// <c>StopAsync</c> then <c>StartAsync</c> on one client: the restart resumes like a reconnect, so nothing sent while
/// stopped, or lost on the wire with the stop, is skipped, and nothing is raised twice.
/// </summary>
public sealed class ClientStopStartTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>
{
    private const string LostOnTheWire = "lost on the wire";

    [Fact]
    public async Task A_start_long_after_a_stop_fetches_an_id_that_a_live_push_overtook_and_the_wire_lost()
    {
        var user = TestUsers.New("rita");
        var clock = new SteppedClock();

        // Long polling through a handler that drops the push of one notification: the wire's at-most-once, made
        // deterministic. Its id stays below one that arrives live, as when a push overtakes another still on its way.
        var options = ClientRecorder.OptionsFor(service.BaseUri, user) with
        {
            ConfigureHttpConnection = http =>
            {
                http.Transports = HttpTransportType.LongPolling;
                http.HttpMessageHandlerFactory = inner => new LosingHandler(inner);
            },
        };
        await using var client = new ClientRecorder(options, clock);
        await client.Client.StartAsync().WithTimeout(what: "the first start");

        var lost = await Send(user, LostOnTheWire);
        var overtaking = await Send(user, "overtook it");
        Assert.Equal([overtaking], (await client.ReceiveThroughAsync(overtaking)).Select(n => n.Id));
        await Timeouts.Eventually(() => Task.FromResult(client.Client.Cursor == overtaking), "the live push moved the cursor");

        await client.Client.StopAsync().WithTimeout(what: "StopAsync");
        clock.Advance(TimeSpan.FromMinutes(1));
        var whileStopped = await Send(user, "while stopped");
        await client.Client.StartAsync().WithTimeout(what: "the start after the stop");

        // The catch-up resumed from before the overtaking push (the reorder window back from the stop, not from now).
        Assert.Equal([overtaking, lost, whileStopped], client.DeliveredIds);
        Assert.Equal(whileStopped, client.Client.Cursor);
    }

    [Fact]
    public async Task With_no_reorder_window_a_live_push_before_the_restarts_catch_up_does_not_skip_what_was_sent_while_stopped()
    {
        var user = TestUsers.New("sam");
        var gate = new ConnectGate();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(gate));
        var options = ClientRecorder.OptionsFor(service.BaseUri, user) with { ReorderWindow = TimeSpan.Zero, LoggerFactory = loggers };
        await using var client = await ClientRecorder.StartAsync(options);
        var before = await Send(user, "before the stop");
        await client.ReceiveThroughAsync(before);

        await client.Client.StopAsync().WithTimeout(what: "StopAsync");
        long[] whileStopped = [await Send(user, "while stopped 1"), await Send(user, "while stopped 2")];

        // Hold the start between its connect and its catch-up, and let a live push be raised there.
        gate.HoldNextConnect();
        var start = client.Client.StartAsync();
        try
        {
            await gate.WaitUntilHeldAsync();
            var live = await Send(user, "live before the catch-up");
            Assert.Equal([live], (await client.ReceiveThroughAsync(live)).Select(n => n.Id));

            // The SDK finished with that push (handlers, then the cursor) before it raises a later event: the read's.
            await client.Client.MarkReadAsync(before).WithTimeout(what: "MarkReadAsync");
            await client.NextReadAsync();
            gate.Release();
            await start.WithTimeout(what: "the start after the stop");

            Assert.Equal([before, live, .. whileStopped], client.DeliveredIds);
            Assert.Equal(live, client.Client.Cursor);
        }
        finally
        {
            gate.Release();
        }
    }

    private Task<long> Send(string user, string title) => service.SendAsync("admin-1", TestUsers.Notification(title, user));

    /// <summary>Drops every <c>ReceiveNotification</c> push titled <see cref="LostOnTheWire"/> from long-poll responses.</summary>
    private sealed class LosingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private const char RecordSeparator = '\u001e';

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method != HttpMethod.Get || !response.IsSuccessStatusCode)
            {
                return response;
            }

            // A poll's body is whole JSON hub messages, each ended by the record separator.
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var kept = body.Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries)
                .Where(m => !(m.Contains("\"ReceiveNotification\"", StringComparison.Ordinal) && m.Contains(LostOnTheWire, StringComparison.Ordinal)))
                .Select(m => m + RecordSeparator);
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(string.Concat(kept)));
            content.Headers.ContentType = response.Content.Headers.ContentType;
            response.Content.Dispose();
            response.Content = content;
            return response;
        }
    }

    /// <summary>
    /// Holds the SDK's <c>StartAsync</c> between its connect and its catch-up: it logs "Connected" (event 1) right
    /// there, synchronously, so a logger that waits in that call holds the start at exactly that point.
    /// </summary>
    private sealed class ConnectGate : ILoggerProvider
    {
        private readonly ManualResetEventSlim released = new();
        private readonly TaskCompletionSource held = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int armed;

        public void HoldNextConnect() => Volatile.Write(ref armed, 1);

        public Task WaitUntilHeldAsync() => held.Task.WithTimeout(what: "the start to connect");

        public void Release() => released.Set();

        public ILogger CreateLogger(string categoryName) =>
            categoryName == typeof(NotificationsClient).FullName ? new GateLogger(this) : NullLogger.Instance;

        public void Dispose() => released.Dispose();

        private void OnLog(EventId eventId)
        {
            if (eventId.Id == 1 && Interlocked.Exchange(ref armed, 0) == 1)
            {
                held.TrySetResult();

                // Bounded: a failed test must not hang the start forever.
                released.Wait(Timeouts.Default);
            }
        }

        private sealed class GateLogger(ConnectGate gate) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                gate.OnLog(eventId);
        }
    }
}
