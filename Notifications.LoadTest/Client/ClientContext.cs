using System.Diagnostics;
using System.Net;
using Notifications.LoadTest.Auth;
using Notifications.LoadTest.Metrics;

namespace Notifications.LoadTest.Client;

/// <summary>State shared by every client of one run against one target: where to connect and what to count.</summary>
public sealed class ClientContext
{
    private Histogram _latency = new();
    private Histogram? _arrivalLatency;

    public ClientContext(IReadOnlyList<HubEndpoint> endpoints, JwtMinter minter, LiveCounters counters, int spreadSources)
    {
        Endpoints = endpoints;
        Minter = minter;
        Counters = counters;
        SpreadSources = endpoints.All(e => e.IsLoopback && e.Ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
            ? Math.Clamp(spreadSources, 0, 254)
            : 0;
    }

    public IReadOnlyList<HubEndpoint> Endpoints { get; }

    public JwtMinter Minter { get; }

    public LiveCounters Counters { get; }

    public int SpreadSources { get; }

    /// <summary>The hub protocol every client of this context speaks.</summary>
    public HubProtocolKind Protocol { get; init; }

    /// <summary>Keep every received notification id per client (smoke checks); off for load.</summary>
    public bool TrackIds { get; set; }

    /// <summary>Latency is recorded only for payload stamps at or after this Stopwatch timestamp (warm-up cut).</summary>
    public long RecordAfter { get; set; } = long.MaxValue;

    /// <summary>Stopwatch timestamp of the latest delivery.</summary>
    public long LastDeliveryTicks;

    public Histogram Latency => Volatile.Read(ref _latency);

    /// <summary>
    /// Latency to when each delivery reached its socket (kernel stamp), next to <see cref="Latency"/> (when the tool read
    /// it); null unless the current window asked for it.
    /// </summary>
    public Histogram? ArrivalLatency => Volatile.Read(ref _arrivalLatency);

    public Histogram NewLatencyWindow(long recordAfter, bool withArrivals = false)
    {
        var h = new Histogram();
        Volatile.Write(ref _latency, h);
        Volatile.Write(ref _arrivalLatency, withArrivals ? new Histogram() : null);
        RecordAfter = recordAfter;
        return h;
    }

    public HubEndpoint EndpointFor(int index) => Endpoints[index % Endpoints.Count];

    /// <summary>127.0.X.Y source address so that nginx ip_hash (first three octets) spreads clients.</summary>
    public IPAddress? SourceFor(int index)
    {
        if (SpreadSources <= 0)
        {
            return null;
        }

        var third = 1 + (index % SpreadSources);
        var fourth = 1 + (index / SpreadSources % 250);
        return new IPAddress(new byte[] { 127, 0, (byte)third, (byte)fourth });
    }

    internal void OnNotification(long sentAt, long arrivedAt)
    {
        var now = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref Counters.Deliveries);
        if (sentAt > 0 && sentAt >= RecordAfter)
        {
            Latency.RecordTicks(now - sentAt);
            if (arrivedAt > 0)
            {
                ArrivalLatency?.RecordTicks(Math.Max(0, arrivedAt - sentAt));
            }
        }

        Volatile.Write(ref LastDeliveryTicks, now);
    }

    internal void OnConnected() => Interlocked.Increment(ref Counters.Connected);

    internal void OnDisconnected(bool unexpected)
    {
        Interlocked.Decrement(ref Counters.Connected);
        if (unexpected)
        {
            Interlocked.Increment(ref Counters.Drops);
        }
    }
}
