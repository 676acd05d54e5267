using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Notifications.Infrastructure.Cluster;

/// <summary>
/// SignalR's Redis backplane, made to keep serving this instance's own connections while Redis is unreachable.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="RedisHubLifetimeManager{THub}"/> delivers <c>Clients.All/User/Group</c> even to local connections only
/// through a Redis round trip, so without Redis an instance would deliver nothing at all. This manager keeps its
/// own record of the local connections (user, groups) and writes to the matching ones itself whenever a publish
/// cannot be made.
/// </para>
/// <para>
/// It also keeps the Redis manager from being left broken by an outage. StackExchange.Redis registers a subscription
/// before it sends SUBSCRIBE, and the Redis manager counts a channel as subscribed before it has its message queue:
/// a subscribe that fails (a connect, or the first local member of a group, while Redis is down) leaves a channel that
/// Redis restores later but whose messages nobody reads, for as long as any local connection stays on it. And a
/// failed group removal leaves the group in the manager's per-connection list, so adding it back does nothing.
/// So while Redis is down, connects and group changes are recorded here only and served locally. When Redis is back
/// (and quiet for a moment), the connections whose Redis state lags are closed: their clients reconnect at once,
/// which registers them afresh, with their groups from the database, and they Sync. A Redis call that failed
/// half-way (Redis died during it) closes every local connection at that point, so that each channel loses its last
/// local subscriber and the Redis manager drops it.
/// </para>
/// <para>
/// Pushes from other instances during the outage are lost on the wire (pub/sub has no replay), so they are made up from
/// the database once Redis is back (see <see cref="IMissedPushes"/>): this instance pushes again to its own connections
/// what was sent from a little before its link failed until then, and an instance that could not publish some of its
/// own pushes asks every instance, on a channel of the service's own, to do the same for the window since its first
/// one. Connections that stayed open so get them live; clients drop the ones they had by id.
/// </para>
/// <para>
/// Pushes to everyone bypass the Redis manager: they travel on <see cref="RedisBroadcastChannel"/>, which writes a
/// burst of them to each local connection at once. So do pushes to users, groups or an audience of several parts, on
/// <see cref="RedisAudienceChannel"/>, which writes each once to every local connection in any part, found in this
/// instance's own record (so a connection whose Redis state lags gets them too). Both write through
/// <see cref="PushWriter"/>; the Redis manager's channels for users and groups await every write instead, so that a
/// connection that stopped reading would hold up its user's or group's later pushes. A push that cannot be published
/// goes through the same loop on this instance only, behind the pushes still waiting in it.
/// </para>
/// </remarks>
public sealed class LocalFallbackHubLifetimeManager<THub> : HubLifetimeManager<THub>, IAudienceLifetimeManager, IConnectionGroups, IGroupJoinTimes, IMissedPushes, IDisposable where THub : Hub
{
    /// <summary>
    /// How far before the recorded time (a link's failure, the first push that could not be published) a replay starts.
    /// A push published just before a failure was noticed may not have reached every instance (the link was already
    /// dead, or Redis died with it in hand), and send times are the sending instance's clock, which may be a little
    /// off this one's. Replaying more costs duplicates only.
    /// </summary>
    internal static readonly TimeSpan ReplayMargin = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan RepairInterval = TimeSpan.FromSeconds(1);
    private static readonly CloseMessage ReconnectClose = new("The Redis backplane is back; reconnect.", allowReconnect: true);

    // Closing connections waits until Redis has been reachable for a moment: a flapping link would otherwise send the
    // same clients through several reconnects, and StackExchange.Redis gets to restore its own subscriptions first.
    private static readonly TimeSpan ReconnectQuiet = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, LocalConnection> connections = new(StringComparer.Ordinal);

    // The local members of each group (what each connection wants), and each user's local connections.
    private readonly ConnectionIndex membersByGroup = new();
    private readonly ConnectionIndex connectionsByUser = new();

    // Connections whose Redis state lags behind the local record; Redis delivery may miss them.
    private readonly ConcurrentDictionary<string, LocalConnection> unsettled = new(StringComparer.Ordinal);
    private readonly RedisConnection redis;
    private readonly Func<RedisHubLifetimeManager<THub>> createBackplane;
    private readonly ILogger logger;
    private readonly Lock backplaneGate = new();
    private readonly SemaphoreSlim repairGate = new(1, 1);
    private readonly ITimer repairTimer;
    private readonly TimeProvider time;
    private readonly PushWriter writer;
    private readonly IHubProtocol[] acceptedProtocols;
    private readonly RedisBroadcastChannel everyone;
    private readonly RedisAudienceChannel audience;
    private readonly RedisMissedPushesChannel missed;
    private Func<MissedWindow, Task>? replayHandler;
    private long availableSince;

    // UTC ticks, 0 when none: when this instance's link to Redis first failed since the last repair, and when its first
    // push since then could not be published. Each asks the repair for a replay (see IMissedPushes).
    private long linkLostAt;
    private long unpublishedSince;
    private RedisHubLifetimeManager<THub>? backplane;
    private int resyncAll;
    private int degraded;

    public LocalFallbackHubLifetimeManager(
        RedisConnection redis,
        IOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions> redisOptions,
        IHubProtocolResolver protocols,
        IOptions<HubOptions> globalHubOptions,
        IOptions<HubOptions<THub>> hubOptions,
        ILoggerFactory loggers,
        TimeProvider time,
        PushWriter writer)
    {
        this.redis = redis;
        this.time = time;
        this.writer = writer;
        logger = loggers.CreateLogger<LocalFallbackHubLifetimeManager<THub>>();

        // Created only once Redis is reachable: the Redis manager subscribes its cluster-wide channels (all, group
        // commands, acks) once, in its constructor, and never again if that first attempt fails.
        createBackplane = () => new RedisHubLifetimeManager<THub>(
            loggers.CreateLogger<RedisHubLifetimeManager<THub>>(), redisOptions, protocols, globalHubOptions, hubOptions);
        redis.Restored += (_, _) =>
        {
            Interlocked.Exchange(ref availableSince, time.GetTimestamp());
            _ = RepairAsync();
        };
        redis.Failed += (_, _) =>
        {
            // Only a failure that leaves this instance without Redis: another endpoint of the configuration that is down
            // (a replica under maintenance) fails again at every reconnect attempt, and would ask for a replay each time.
            if (!redis.IsAvailable)
            {
                RecordEarliest(ref linkLostAt, time.GetUtcNow().UtcTicks);
            }
        };
        repairTimer = time.CreateTimer(_ => _ = RepairAsync(), null, RepairInterval, RepairInterval);
        acceptedProtocols = [.. (hubOptions.Value.SupportedProtocols ?? globalHubOptions.Value.SupportedProtocols ?? [])
            .Select(name => protocols.GetProtocol(name, null)).OfType<IHubProtocol>()];
        everyone = new RedisBroadcastChannel(redis, WriteBroadcastHereAsync, time, logger);
        audience = new RedisAudienceChannel(redis, WriteAudienceHereAsync, time, logger);
        missed = new RedisMissedPushesChannel(redis, RequestReplayAsync, time, logger);

        // Off the constructor's thread: the first use of the multiplexer connects, and waits while Redis is down.
        Task.Run(everyone.Start);
        Task.Run(audience.Start);
        Task.Run(missed.Start);
    }

    /// <summary>
    /// True when Redis delivery reaches every local connection, nothing is held back, and the replays of what may have
    /// been missed meanwhile have been asked for (for tests and diagnostics).
    /// </summary>
    public bool IsSettled =>
        Volatile.Read(ref degraded) == 0 && Volatile.Read(ref resyncAll) == 0 && unsettled.IsEmpty
        && Interlocked.Read(ref linkLostAt) == 0 && Interlocked.Read(ref unpublishedSince) == 0;

    public IReadOnlyCollection<string> GroupsOf(string connectionId) =>
        connections.TryGetValue(connectionId, out var local) ? local.DesiredGroups : [];

    public void JoinedAt(string connectionId, string groupName, DateTime joinedAt, bool readUnderHold)
    {
        if (connections.TryGetValue(connectionId, out var local))
        {
            local.JoinTimes.Record(groupName, joinedAt, readUnderHold);
        }
    }

    /// <summary>The service's own channels are subscribed: what this instance publishes comes back to it (for tests).</summary>
    internal bool IsListening => everyone.IsListening && audience.IsListening && missed.IsListening;

    /// <summary>Pushes waiting in the broadcast and audience loops (for tests and diagnostics).</summary>
    internal int PendingPushes => everyone.Pending + audience.Pending;

    /// <summary>Users and groups with a connection here (for tests: emptied entries are dropped).</summary>
    internal (int Users, int Groups) IndexedKeys => (connectionsByUser.Count, membersByGroup.Count);

    /// <summary>Writes a push (or several, back to back) that came over the broadcast channel to every connection here.</summary>
    private Task WriteBroadcastHereAsync(IReadOnlyList<SerializedMessage> push)
    {
        // A push serialized by an instance that does not accept this connection's protocol (during a rollout that turns
        // MessagePack on) cannot be written to it; the client gets it with its next Sync.
        var serializedIn = push.Select(p => p.ProtocolName).ToHashSet(StringComparer.Ordinal);
        return WriteAsync(
            connections.Select(pair => pair.Value).Where(local => serializedIn.Contains(local.Context.Protocol.Name)),
            new SerializedHubMessage(push));
    }

    /// <summary>Writes a push that came over the audience channel to every connection here in any of its parts.</summary>
    private Task WriteAudienceHereAsync(AudiencePush push)
    {
        var serializedIn = push.Push.Select(p => p.ProtocolName).ToHashSet(StringComparer.Ordinal);
        return WriteAsync(
            InAudience(push.Users, push.Groups, push.GroupsJoinedBy).Where(local => serializedIn.Contains(local.Context.Protocol.Name)),
            new SerializedHubMessage(push.Push));
    }

    /// <summary>
    /// This instance's connections whose user is listed or that are in a listed group, each once; with
    /// <paramref name="groupsJoinedBy"/> (UTC ticks, 0 for none), of a group's connections only those whose user joined
    /// it by then.
    /// </summary>
    private IEnumerable<LocalConnection> InAudience(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, long groupsJoinedBy)
    {
        var targets = new HashSet<LocalConnection>(ReferenceEqualityComparer.Instance);
        foreach (var group in groupNames)
        {
            if (groupsJoinedBy == 0)
            {
                membersByGroup.CollectInto(group, targets);
            }
            else
            {
                membersByGroup.CollectInto(group, targets, (group, groupsJoinedBy), static (local, limit) => local.JoinTimes.JoinedBy(limit.group, limit.groupsJoinedBy));
            }
        }

        foreach (var user in userIds)
        {
            connectionsByUser.CollectInto(user, targets);
        }

        return targets;
    }

    public void OnReplayRequested(Func<MissedWindow, Task> handler)
    {
        if (Interlocked.CompareExchange(ref replayHandler, handler, null) is not null)
        {
            throw new InvalidOperationException("Replays of missed pushes already have a handler.");
        }
    }

    /// <summary>As a push to everyone that came back from Redis is written here (serialized as <see cref="Serialize"/> does).</summary>
    public Task WriteToEveryoneHereAsync(string methodName, object?[] args) =>
        WriteBroadcastHereAsync(Serialize(new InvocationMessage(methodName, args)));

    /// <summary>As a push to an audience that came back from Redis is written here.</summary>
    public Task WriteToAudienceHereAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args) =>
        userIds.Count == 0 && groupNames.Count == 0
            ? Task.CompletedTask
            : WriteAudienceHereAsync(new AudiencePush(userIds, groupNames, Serialize(new InvocationMessage(methodName, args)), groupsJoinedBy?.Ticks ?? 0));

    /// <summary>The repair closes them all, as after a Redis call that failed half-way.</summary>
    public void ReconnectEveryoneHere()
    {
        Interlocked.Exchange(ref resyncAll, 1);
        _ = RepairAsync();
    }

    /// <summary>
    /// Writes <paramref name="message"/> to each of this instance's <paramref name="targets"/> that is still open,
    /// through <see cref="PushWriter"/>: the broadcast and audience loops write one push at a time, and a client that
    /// stopped reading must not hold up the others.
    /// </summary>
    private Task WriteAsync(IEnumerable<LocalConnection> targets, SerializedHubMessage message) =>
        writer.WriteAsync(targets.Where(static local => !local.IsClosed).Select(static local => local.Context), message);

    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        var local = new LocalConnection(connection);
        connections[connection.ConnectionId] = local;
        await local.Gate.WaitAsync();
        try
        {
            if (AvailableBackplane() is { } manager)
            {
                try
                {
                    await manager.OnConnectedAsync(connection);
                    local.Attached();
                }
                catch (Exception ex) when (IsRedisFailure(ex))
                {
                    MarkSuspect(local, ex);
                }
            }

            // Under the gate, as the disconnect: one that came first has closed it, and it must not be indexed again.
            if (local.UserId is { } user && !local.IsClosed)
            {
                connectionsByUser.Add(user, local);
            }

            Track(local);
        }
        finally
        {
            local.Gate.Release();
        }
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (!connections.TryRemove(connection.ConnectionId, out var local))
        {
            return;
        }

        await local.Gate.WaitAsync();
        try
        {
            local.Close();
            unsettled.TryRemove(local.Id, out _);
            foreach (var group in local.DesiredGroups)
            {
                Index(local, group, member: false);
            }

            if (local.UserId is { } user)
            {
                connectionsByUser.Remove(user, local);
            }

            // Safe while Redis is down: the Redis manager drops the connection from its channel lists before it sends
            // UNSUBSCRIBE, and StackExchange.Redis forgets a channel locally before telling the server.
            if (local.State != BackplaneState.Detached && Volatile.Read(ref backplane) is { } manager)
            {
                await DetachAsync(manager, local);
            }
        }
        finally
        {
            local.Gate.Release();
        }
    }

    /// <summary>
    /// Through the service's own Redis channel (see <see cref="RedisBroadcastChannel"/>); when Redis is down or this
    /// instance's subscription is not up yet, through the channel's loop on this instance only.
    /// </summary>
    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        everyone.SendAsync(Serialize(new InvocationMessage(methodName, args)), NoteUnpublished);

    /// <summary>
    /// Through the service's own Redis channel (see <see cref="RedisAudienceChannel"/>); when Redis is down or this
    /// instance's subscription is not up yet, through the channel's loop on this instance only.
    /// </summary>
    public Task SendToAudienceAsync(IReadOnlyList<string> userIds, IReadOnlyList<string> groupNames, DateTime? groupsJoinedBy, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        userIds.Count == 0 && groupNames.Count == 0
            ? Task.CompletedTask
            : audience.SendAsync(new AudiencePush(userIds, groupNames, Serialize(new InvocationMessage(methodName, args)), groupsJoinedBy?.Ticks ?? 0), NoteUnpublished);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        SendAsync(
            manager => manager.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken),
            local => !excludedConnectionIds.Contains(local.Id),
            static local => local.ReachedThroughBackplane,
            new InvocationMessage(methodName, args),
            cancellationToken);

    public override async Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        // A local connection is written to directly, Redis or not (the Redis manager does the same).
        if (connections.TryGetValue(connectionId, out var local))
        {
            await local.Context.WriteAsync(new InvocationMessage(methodName, args), cancellationToken);
            return;
        }

        await PublishOnlyAsync(manager => manager.SendConnectionAsync(connectionId, methodName, args, cancellationToken));
    }

    public override async Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var remote = connectionIds.Where(id => !connections.ContainsKey(id)).ToList();
        var local = connectionIds
            .Select(id => connections.TryGetValue(id, out var here) ? here : null)
            .OfType<LocalConnection>()
            .ToList();

        // Through the push writer: the unread counts of a user's connections go this way, and a frozen tab of the
        // user must not hold up the others.
        var writes = new List<Task> { WriteAsync(local, new SerializedHubMessage(new InvocationMessage(methodName, args))) };
        if (remote.Count > 0)
        {
            writes.Add(PublishOnlyAsync(manager => manager.SendConnectionsAsync(remote, methodName, args, cancellationToken)));
        }

        await Task.WhenAll(writes);
    }

    /// <summary>On the audience channel, as <see cref="SendUsersAsync"/>.</summary>
    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendGroupsAsync([groupName], methodName, args, cancellationToken);

    /// <summary>On the audience channel, as <see cref="SendUsersAsync"/>; a connection in several of the groups gets it once.</summary>
    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendToAudienceAsync([], [.. groupNames.Where(g => !string.IsNullOrEmpty(g)).Distinct(StringComparer.Ordinal)], groupsJoinedBy: null, methodName, args, cancellationToken);

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        SendGroupsCoreAsync(
            manager => manager.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken), [groupName], excludedConnectionIds, methodName, args, cancellationToken);

    /// <summary>On the audience channel, as <see cref="SendUsersAsync"/>.</summary>
    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendUsersAsync([userId], methodName, args, cancellationToken);

    /// <summary>
    /// On the service's audience channel, not the Redis manager's channel per user: that one awaits each write, so a
    /// connection of the user that stopped reading (a frozen tab) would hold up the user's later pushes to the other
    /// connections on its instance (NotificationsRead and AllRead too), up to the transport send timeout. Every
    /// instance hears the push and finds the users' connections in its index.
    /// </summary>
    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        SendToAudienceAsync([.. userIds.Distinct(StringComparer.Ordinal)], [], groupsJoinedBy: null, methodName, args, cancellationToken);

    public override async Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        // The service moves only its own connections (each instance applies a membership change to its own), so an
        // id that is not here is one that has just closed. The Redis manager would look for it on the other instances
        // and wait some 30 s for an acknowledgement no one sends, holding up every membership change behind it.
        if (connections.TryGetValue(connectionId, out var local))
        {
            await ChangeGroupAsync(local, groupName, member: true);
        }
    }

    public override async Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        // As for AddToGroupAsync: an id that is not here has closed, and is in no group any more.
        if (connections.TryGetValue(connectionId, out var local))
        {
            await ChangeGroupAsync(local, groupName, member: false);
        }
    }

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        (AvailableBackplane() ?? throw new IOException("Client results need the Redis backplane, which is unavailable.")).InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        Volatile.Read(ref backplane)?.SetConnectionResultAsync(connectionId, result) ?? Task.CompletedTask;

    public override bool TryGetReturnType(string invocationId, [NotNullWhen(true)] out Type? type)
    {
        type = null;
        return Volatile.Read(ref backplane)?.TryGetReturnType(invocationId, out type) == true;
    }

    public void Dispose()
    {
        repairTimer.Dispose();
        everyone.Stop();
        audience.Stop();
        missed.Stop();
        try
        {
            Volatile.Read(ref backplane)?.Dispose();
        }
        catch (Exception ex) when (IsRedisFailure(ex) || ex is ObjectDisposedException)
        {
            logger.LogDebug(ex, "Redis backplane could not unsubscribe on shutdown");
        }
    }

    /// <summary>
    /// Ends the degraded mode once Redis is back: closes the connections Redis does not fully know, and asks for the
    /// replays of what may have been missed meanwhile. Runs when a Redis link is restored and every second (cheap when
    /// there is nothing to do); one run at a time.
    /// </summary>
    public async Task RepairAsync()
    {
        if (IsSettled || !await repairGate.WaitAsync(0))
        {
            return;
        }

        try
        {
            if (AvailableBackplane() is null || !QuietSinceReconnect())
            {
                return;
            }

            // Connections that Redis does not fully know are closed, not patched: registering a live connection with
            // the Redis manager afterwards was seen to leave it deaf to Redis (a fresh connect works). Their clients
            // reconnect at once (automatic reconnect), get their groups from the database as on every connect, and
            // Sync. After a Redis call that failed half-way, every local connection goes: only when a channel loses
            // its last local subscriber does the Redis manager drop a channel whose subscribe left it without a reader.
            var all = Interlocked.Exchange(ref resyncAll, 0) == 1;
            var closing = (all ? connections.Values : unsettled.Values).Where(local => !local.IsClosed).ToList();
            if (closing.Count > 0)
            {
                logger.LogInformation(
                    "Redis is back: closing {Count} connections it does not fully know, so that their clients reconnect and sync",
                    closing.Count);
            }

            foreach (var local in closing)
            {
                // A close that allows reconnecting: a bare abort makes SignalR clients give up instead.
                try
                {
                    await local.Context.WriteAsync(ReconnectClose);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.LogDebug(ex, "Could not send the close message to connection {ConnectionId}", local.Id);
                }

                local.Context.Abort();
            }

            // After the closes, so that the replays are written to the connections that stay.
            await RequestReplaysAsync();

            if (Volatile.Read(ref resyncAll) == 0 && Interlocked.Exchange(ref degraded, 0) == 1)
            {
                logger.LogInformation("Redis backplane restored: delivery across instances resumed");
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Repair of the Redis backplane state failed; retrying");
        }
        finally
        {
            repairGate.Release();
        }
    }

    /// <summary>
    /// With Redis back: this instance's connections get again what was sent from a little before its link failed (the
    /// other instances' pushes did not reach it); and every instance's connections (this one's too, as the notice comes
    /// back) what was sent from a little before this instance's first push that could not be published (it reached only
    /// this instance's connections; the others' links may never have dropped). A notice that cannot be published is
    /// tried again at the next repair.
    /// </summary>
    private async Task RequestReplaysAsync()
    {
        var now = time.GetUtcNow().UtcDateTime;
        var lost = Interlocked.Exchange(ref linkLostAt, 0);
        if (lost != 0)
        {
            await RequestReplayAsync(WindowFrom(lost, now));
        }

        var since = Interlocked.Exchange(ref unpublishedSince, 0);
        if (since != 0)
        {
            var window = WindowFrom(since, now);
            if (await missed.PublishAsync(window))
            {
                logger.LogInformation(
                    "Asked every instance to push again what was sent from {From:O} to {To:O}: some of this instance's pushes then reached its own connections only",
                    window.From, window.To);
            }
            else
            {
                RecordEarliest(ref unpublishedSince, since);
            }
        }
    }

    private static MissedWindow WindowFrom(long ticks, DateTime now) =>
        new(new DateTime(Math.Max(DateTime.MinValue.Ticks, ticks - ReplayMargin.Ticks), DateTimeKind.Utc), now);

    /// <summary>Hands a window to the handler (a lost link here, or a notice heard from any instance).</summary>
    private async Task RequestReplayAsync(MissedWindow window)
    {
        if (Volatile.Read(ref replayHandler) is not { } handler)
        {
            logger.LogDebug("No handler for replays of missed pushes: the window is dropped");
            return;
        }

        try
        {
            await handler(window);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            logger.LogWarning(ex, "Could not ask for a replay of missed pushes");
        }
    }

    /// <summary>Keeps <see cref="membersByGroup"/> in step with what a connection wants; called under its gate.</summary>
    private void Index(LocalConnection local, string groupName, bool member)
    {
        if (member)
        {
            membersByGroup.Add(groupName, local);
        }
        else
        {
            membersByGroup.Remove(groupName, local);
        }
    }

    private async Task ChangeGroupAsync(LocalConnection local, string groupName, bool member)
    {
        await local.Gate.WaitAsync();
        try
        {
            local.Want(groupName, member);
            Index(local, groupName, member && !local.IsClosed);

            // Applied to the Redis manager only while Redis is up (see the remarks); otherwise the repair does it.
            if (local.State == BackplaneState.Attached && AvailableBackplane() is { } manager)
            {
                try
                {
                    if (member)
                    {
                        await manager.AddToGroupAsync(local.Id, groupName);
                    }
                    else
                    {
                        await manager.RemoveFromGroupAsync(local.Id, groupName);
                    }

                    local.Applied(groupName, member);
                }
                catch (Exception ex) when (IsRedisFailure(ex))
                {
                    MarkSuspect(local, ex);
                }
            }

            Track(local);
        }
        finally
        {
            local.Gate.Release();
        }
    }

    private async Task DetachAsync(RedisHubLifetimeManager<THub> manager, LocalConnection local)
    {
        try
        {
            await manager.OnDisconnectedAsync(local.Context);
        }
        catch (Exception ex)
        {
            // The Redis manager has dropped the connection from its lists before anything here can fail.
            logger.LogDebug(ex, "Redis backplane could not unsubscribe connection {ConnectionId}", local.Id);
        }

        local.Detached();
    }

    /// <summary>
    /// Publishes through Redis when it is up; then writes to the local connections that Redis did not reach: all of
    /// the targeted ones when the publish could not be made, else only those whose Redis state lags.
    /// </summary>
    private async Task SendAsync(
        Func<HubLifetimeManager<THub>, Task> publish,
        Func<LocalConnection, bool> targeted,
        Func<LocalConnection, bool> reachedThroughBackplane,
        InvocationMessage invocation,
        CancellationToken cancellationToken)
    {
        var published = false;
        if (AvailableBackplane() is { } manager)
        {
            try
            {
                await publish(manager);
                published = true;
            }
            catch (Exception ex) when (IsRedisFailure(ex))
            {
                NoteUnpublished(ex);
            }
        }
        else
        {
            NoteUnpublished(null);
        }

        var missedHere = (published ? unsettled.Values : connections.Values).Where(local => targeted(local) && !(published && reachedThroughBackplane(local)));
        await WriteAsync(missedHere, new SerializedHubMessage(invocation));
    }

    private Task SendGroupsCoreAsync(
        Func<HubLifetimeManager<THub>, Task> publish,
        IReadOnlyList<string> groupNames,
        IReadOnlyList<string>? excluded,
        string methodName,
        object?[] args,
        CancellationToken cancellationToken)
    {
        var groups = groupNames.Where(g => !string.IsNullOrEmpty(g)).ToHashSet(StringComparer.Ordinal);
        return SendAsync(
            publish,
            local => local.WantsAny(groups) && excluded?.Contains(local.Id) != true,
            local => local.ReachedThroughAny(groups),
            new InvocationMessage(methodName, args),
            cancellationToken);
    }

    /// <summary>For targets on other instances only: while Redis is down they cannot be reached, as with any push.</summary>
    private async Task PublishOnlyAsync(Func<HubLifetimeManager<THub>, Task> publish)
    {
        if (AvailableBackplane() is not { } manager)
        {
            NoteDegraded(null);
            return;
        }

        try
        {
            await publish(manager);
        }
        catch (Exception ex) when (IsRedisFailure(ex))
        {
            NoteDegraded(ex);
        }
    }

    /// <summary>The push in every protocol the hub accepts: another instance writes it to connections of any of them.</summary>
    private SerializedMessage[] Serialize(InvocationMessage invocation) =>
        [.. acceptedProtocols.Select(p => new SerializedMessage(p.Name, p.GetMessageBytes(invocation)))];

    private bool QuietSinceReconnect()
    {
        var since = Interlocked.Read(ref availableSince);
        return since != 0 && time.GetElapsedTime(since) >= ReconnectQuiet;
    }

    private RedisHubLifetimeManager<THub>? AvailableBackplane()
    {
        if (!redis.IsAvailable)
        {
            Interlocked.Exchange(ref availableSince, 0);
            return null;
        }

        Interlocked.CompareExchange(ref availableSince, time.GetTimestamp(), 0);

        if (Volatile.Read(ref backplane) is { } existing)
        {
            return existing;
        }

        lock (backplaneGate)
        {
            return backplane ??= createBackplane();
        }
    }

    private void Track(LocalConnection local)
    {
        if (local.IsSettled || local.IsClosed)
        {
            unsettled.TryRemove(local.Id, out _);
        }
        else
        {
            unsettled[local.Id] = local;
            NoteDegraded(null);
        }
    }

    private void MarkSuspect(LocalConnection local, Exception ex)
    {
        local.Suspect();
        Interlocked.Exchange(ref resyncAll, 1);
        NoteDegraded(ex);
    }

    /// <summary>A push reached this instance's connections only: the other instances must be asked to make it up.</summary>
    private void NoteUnpublished(Exception? ex)
    {
        RecordEarliest(ref unpublishedSince, time.GetUtcNow().UtcTicks);
        NoteDegraded(ex);
    }

    /// <summary>Sets <paramref name="field"/> (UTC ticks, 0 for none) to <paramref name="ticks"/> unless it holds an earlier time.</summary>
    private static void RecordEarliest(ref long field, long ticks)
    {
        var current = Interlocked.Read(ref field);
        while (current == 0 || ticks < current)
        {
            var seen = Interlocked.CompareExchange(ref field, ticks, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    private void NoteDegraded(Exception? ex)
    {
        if (Interlocked.Exchange(ref degraded, 1) == 0)
        {
            logger.LogWarning(
                "Redis backplane unavailable ({Error}): delivering to this instance's own connections only until it returns",
                ex?.GetType().Name ?? "not connected");
        }
    }

    private static bool IsRedisFailure(Exception ex) => ex is RedisException or RedisTimeoutException;
}
