using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Notifications.Api.Hardening;
using Notifications.Tests.Infrastructure;

namespace Notifications.Tests.Operations;

/// <summary>The service's own meter, <c>Notifications</c>, as an exporter would read it, with real sends, pushes and receipts.</summary>
public sealed class TelemetryTests(SqliteServiceFixture service) : IClassFixture<SqliteServiceFixture>, IDisposable
{
    private readonly ConcurrentDictionary<string, double> totals = new();
    private readonly MeterListener listener = new();

    public void Dispose() => listener.Dispose();

    [Fact]
    public async Task The_Notifications_meter_counts_sends_pushes_acks_reads_connections_and_dispatch_lag()
    {
        Listen();
        var user = TestUsers.New("metrics");
        var hub = await service.ConnectAsync(user);
        await WaitForTotalAsync("notifications.connections.active", 1);

        var id = await service.SendAsync("metrics-sender", new { type = "test.metrics", title = "counted", audience = new { users = new[] { user } } });
        Assert.Equal(id, (await hub.NextNotificationAsync()).Id);
        await hub.InvokeAsync("Ack", new[] { id });
        await hub.InvokeAsync("MarkRead", new[] { id });
        await hub.InvokeAsync("MarkAllRead");

        await WaitForTotalAsync("notifications.sent", 1);
        await WaitForTotalAsync("notifications.pushed", 1);
        await WaitForTotalAsync("notifications.dispatch.lag.count", 1);
        await WaitForTotalAsync("notifications.acked", 1);
        await WaitForTotalAsync("notifications.read", 2);

        await hub.DisposeAsync();
        await WaitForTotalAsync("notifications.connections.active", 0);
    }

    private void Listen()
    {
        var factory = service.Services.GetRequiredService<IMeterFactory>();

        // Only this host's meter: other test hosts in the run create their own "Notifications" meter.
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NotificationsMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => Add(instrument.Name, value));
        // Asserting here would throw on the app's thread, not the test's: negatives are counted and checked below.
        listener.SetMeasurementEventCallback<double>((instrument, value, _, _) => Add(instrument.Name + (value >= 0 ? ".count" : ".negative"), 1));
        listener.Start();
    }

    private void Add(string name, double value) => totals.AddOrUpdate(name, value, (_, total) => total + value);

    private async Task WaitForTotalAsync(string name, double expected)
    {
        await Timeouts.Eventually(() => Task.FromResult(totals.GetValueOrDefault(name) == expected), $"{name} to total {expected} (now {totals.GetValueOrDefault(name)})");
        Assert.DoesNotContain(totals.Keys, key => key.EndsWith(".negative", StringComparison.Ordinal));
    }
}
