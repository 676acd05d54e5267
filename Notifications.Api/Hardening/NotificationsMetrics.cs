using System.Diagnostics.Metrics;
using Notifications.Domain;
using Notifications.Infrastructure.Cluster;
using Notifications.Infrastructure.Data;

namespace Notifications.Api.Hardening;

/// <summary>
/// The service's own meter, <c>Notifications</c>. A singleton from DI (created through <see cref="IMeterFactory"/>, so
/// each host, also each test host, has its own); the send, dispatch, read-state and hub code report through it.
/// </summary>
public sealed class NotificationsMetrics
{
    public const string MeterName = "Notifications";

    private readonly Counter<long> sent;
    private readonly Counter<long> pushed;
    private readonly Counter<long> acked;
    private readonly Counter<long> read;
    private readonly UpDownCounter<long> activeConnections;
    private readonly Counter<long> refusedConnections;
    private readonly Counter<long> rateLimited;
    private readonly Histogram<double> dispatchLag;

    public NotificationsMetrics(IMeterFactory meterFactory, PushWriter writer)
    {
        var meter = meterFactory.Create(MeterName);
        sent = meter.CreateCounter<long>("notifications.sent", "{notification}", "Notifications stored by a send (replays of an Idempotency-Key not counted).");
        pushed = meter.CreateCounter<long>("notifications.pushed", "{notification}", "Notifications and retractions handed to SignalR for delivery (once per notification, not per recipient).");
        acked = meter.CreateCounter<long>("notifications.acked", "{receipt}", "Delivery receipts (hub Ack) recorded for visible notifications.");
        read = meter.CreateCounter<long>("notifications.read", "{receipt}", "Read receipts recorded; a read-all counts once.");
        activeConnections = meter.CreateUpDownCounter<long>("notifications.connections.active", "{connection}", "Hub connections open on this instance.");
        refusedConnections = meter.CreateCounter<long>("notifications.connections.refused", "{connection}", "Hub connections closed at connect because the user reached Limits:MaxConnectionsPerUser.");
        rateLimited = meter.CreateCounter<long>("notifications.rate_limited", "{request}", "Sends (surface=rest) and hub calls (surface=hub) refused by a rate limit.");
        meter.CreateObservableGauge("notifications.push.queued", () => writer.QueuedWrites, "{write}",
            "Writes of pushes waiting for clients that lag (took over half a second to take a push); a client with more than Limits:MaxQueuedPushesPerConnection waiting is closed.");
        dispatchLag = meter.CreateHistogram<double>("notifications.dispatch.lag", "s", "Time from a notification's creation to its push.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
    }

    public void Sent(Priority priority) => sent.Add(1, new KeyValuePair<string, object?>("priority", priority.ToName()));

    /// <summary>A push handed to SignalR; for a send also how long after its creation (the dispatch lag).</summary>
    public void Pushed(OutboxKind kind, DateTime createdAt, DateTime now)
    {
        pushed.Add(1, new KeyValuePair<string, object?>("kind", kind == OutboxKind.Retract ? "retract" : "send"));
        if (kind == OutboxKind.Send)
        {
            dispatchLag.Record(Math.Max(0, (now - createdAt).TotalSeconds));
        }
    }

    /// <summary>Receipts recorded for visible notifications: delivered counts as acked, read as read.</summary>
    public void Receipts(ReceiptField field, int count)
    {
        if (field == ReceiptField.Delivered)
        {
            acked.Add(count);
        }
        else if (field == ReceiptField.Read)
        {
            read.Add(count, new KeyValuePair<string, object?>("scope", "ids"));
        }
    }

    public void ReadAll() => read.Add(1, new KeyValuePair<string, object?>("scope", "all"));

    public void ConnectionOpened() => activeConnections.Add(1);

    public void ConnectionClosed() => activeConnections.Add(-1);

    public void ConnectionRefused() => refusedConnections.Add(1);

    public void RateLimited(string surface) => rateLimited.Add(1, new KeyValuePair<string, object?>("surface", surface));
}
