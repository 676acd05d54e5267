namespace Notifications.Infrastructure.Cluster;

/// <summary>A user's group membership changed; every instance moves that user's live connections.</summary>
public sealed record MembershipChanged(string UserId, string Group, bool Joined);

/// <summary>What one instance reports about itself for the cluster-wide admin stats.</summary>
public sealed record InstanceReport(string InstanceId, int Connections, IReadOnlyCollection<string> UserIds, DateTime At);

/// <summary>
/// Messages between the service's instances, outside SignalR's own backplane: in memory for a single instance,
/// Redis pub/sub when scaled out. The same configuration decision picks both.
/// </summary>
public interface IClusterBus
{
    /// <summary>Delivers to every instance, this one included, before the returned task completes locally.</summary>
    Task PublishAsync(MembershipChanged change, CancellationToken cancellationToken);

    void Subscribe(Func<MembershipChanged, Task> handler);

    /// <summary>
    /// Called when changes may have been missed (this instance's link to the other instances came back): the handler
    /// re-reads what it keeps in step with the changes. It runs one at a time with the change handlers.
    /// </summary>
    void SubscribeResync(Func<CancellationToken, Task> handler);

    /// <summary>Stores this instance's report; reports expire when an instance stops sending them.</summary>
    Task ReportAsync(InstanceReport report, CancellationToken cancellationToken);

    /// <summary>Removes this instance's report at once, when it stops, rather than when the report expires.</summary>
    Task WithdrawReportAsync(string instanceId);

    Task<IReadOnlyList<InstanceReport>> GetReportsAsync(CancellationToken cancellationToken);
}
