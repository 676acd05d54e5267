namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// A user's group membership changed; every instance moves that user's live connections. A join says when, as stored
/// (instances read it from the database, and take it from here only when they cannot).
/// </summary>
public sealed record MembershipChanged(string UserId, string Group, bool Joined, DateTime? JoinedAt = null);

/// <summary>
/// A user's read state changed (read, read-all, archive); every instance tells that user's connections there their
/// unread count, each as its own token's roles see it.
/// </summary>
public sealed record ReadStateChanged(string UserId);

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

    /// <summary>
    /// Runs the resync handlers now, one at a time with the change handlers, unless a resync started at or after
    /// <paramref name="notBefore"/> (UTC): for work that must not act on changes this instance may have missed (a replay
    /// of pushes after a Redis outage, which must not reach members who left or joined again meanwhile, while the
    /// resync that follows the outage may not have run yet).
    /// </summary>
    Task ResyncNowAsync(DateTime notBefore, CancellationToken cancellationToken);

    /// <summary>
    /// Delivers to this instance's handlers before the returned task completes, and to the other instances' at most
    /// once: like any push, a change the others cannot hear now (Redis down) is not told them later.
    /// </summary>
    Task PublishAsync(ReadStateChanged change, CancellationToken cancellationToken);

    /// <summary>
    /// Handlers are called one at a time, in the order the changes arrive. The task a handler returns is awaited for
    /// this instance's own changes (their publish waits for it), not for the others' (one slow handler must not hold up
    /// the changes after it).
    /// </summary>
    void SubscribeReadState(Func<ReadStateChanged, Task> handler);

    /// <summary>Stores this instance's report; reports expire when an instance stops sending them.</summary>
    Task ReportAsync(InstanceReport report, CancellationToken cancellationToken);

    /// <summary>Removes this instance's report at once, when it stops, rather than when the report expires.</summary>
    Task WithdrawReportAsync(string instanceId);

    Task<IReadOnlyList<InstanceReport>> GetReportsAsync(CancellationToken cancellationToken);
}
