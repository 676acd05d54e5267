namespace Notifications.Infrastructure.Cluster;

/// <summary>A span of send times (UTC, inclusive) whose pushes this instance's connections may have missed.</summary>
public sealed record MissedWindow(DateTime From, DateTime To);

/// <summary>
/// Pushes that this instance's connections may have missed while Redis, or a link to it, was down, to be made up from
/// the database: the lifetime manager says which windows, and writes what it is given to its own connections only.
/// </summary>
/// <remarks>
/// While Redis is unreachable an instance delivers to its own connections only, so a client that stays connected
/// through an outage misses the pushes made through the other instances meanwhile, and pub/sub has no replay. Closing
/// such connections so that they reconnect and Sync would cost every client a reconnect (a storm) for an outage they
/// may not have noticed; pushing again what was sent meanwhile, read from the inbox, costs them duplicates at most,
/// which clients drop by id.
/// </remarks>
public interface IMissedPushes
{
    /// <summary>
    /// Sets the one handler of replay requests. It is handed windows as they come (possibly overlapping, and from
    /// several threads at once) and should only queue them: the lifetime manager awaits it.
    /// </summary>
    void OnReplayRequested(Func<MissedWindow, Task> handler);

    /// <summary>Writes one push to every connection of this instance, never through Redis.</summary>
    Task WriteToEveryoneHereAsync(string methodName, object?[] args);

    /// <summary>
    /// Writes one push to each connection of this instance whose user is listed or that is in a listed (SignalR) group,
    /// once per connection, never through Redis; with <paramref name="groupsJoinedBy"/>, as
    /// <see cref="IAudienceLifetimeManager.SendToAudienceAsync"/> has it.
    /// </summary>
    Task WriteToAudienceHereAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args);

    /// <summary>
    /// Closes every connection of this instance with a close that allows reconnecting, once Redis is up: for when a
    /// window holds more than a replay should push; their clients reconnect and Sync.
    /// </summary>
    void ReconnectEveryoneHere();
}
