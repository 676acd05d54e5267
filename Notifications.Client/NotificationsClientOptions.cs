using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.Extensions.Logging;

namespace Notifications.Client;

/// <summary>Options of <see cref="NotificationsClient"/>.</summary>
/// <param name="ServerUrl">Base url of the service; the hub path <c>/hubs/notifications</c> is appended.</param>
/// <param name="AccessTokenProvider">
/// Returns a bearer token. Called on every connect and reconnect (not cached by the SDK) so that an
/// expired token is replaced: the server closes a connection when its token expires. Honour its token: it is
/// cancelled by <see cref="NotificationsClient.StopAsync"/> and <see cref="NotificationsClient.DisposeAsync"/>, and
/// during <see cref="NotificationsClient.StartAsync"/> also by that call's token (a provider that ignores it keeps
/// them waiting).
/// </param>
public sealed record NotificationsClientOptions(Uri ServerUrl, Func<CancellationToken, Task<string>> AccessTokenProvider)
{
    /// <summary>Highest notification id already seen (persisted <see cref="NotificationsClient.Cursor"/>); 0 = everything.</summary>
    public long InitialCursor { get; init; }

    /// <summary>Page size of <c>Sync</c> calls: 1 to <see cref="NotificationsClient.MaxSyncPageSize"/>, the most the server returns.</summary>
    public int SyncPageSize { get; init; } = 500;

    /// <summary>Used for the SDK's and SignalR's logs. Tokens and notification contents are never logged by the SDK.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// Delays between reconnect attempts; the last one repeats forever (the SDK never gives up on its own).
    /// Null or empty = 0, 1, 2, 5, 10 s. Non-zero delays get ±20 % jitter so clients don't reconnect in lockstep.
    /// </summary>
    public IReadOnlyList<TimeSpan>? ReconnectDelays { get; init; }

    /// <summary>How many recently delivered (and retracted) ids are remembered for de-duplication.</summary>
    public int DedupCapacity { get; init; } = 10_000;

    /// <summary>
    /// Live pushes can arrive out of id order (concurrent sends, several server instances). After a disconnect the
    /// catch-up sync starts from the highest id seen this long before the disconnect (ids from sync pages count at
    /// once), not the very highest, so an id overtaken on the wire just before the drop is not skipped.
    /// Re-fetched ids are de-duplicated. Zero disables.
    /// </summary>
    public TimeSpan ReorderWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Speak SignalR's binary MessagePack hub protocol instead of JSON. The service must allow it (<c>Hub:MessagePack</c>);
    /// otherwise the handshake is refused. What the SDK hands out is the same either way.
    /// </summary>
    public bool UseMessagePack { get; init; }

    /// <summary>
    /// Escape hatch for transport settings (e.g. <c>Transports</c>, <c>SkipNegotiation</c>), applied after the SDK's own.
    /// Note: a custom <c>WebSocketFactory</c> does not attach the token; put <c>?access_token=</c> in its URL yourself.
    /// </summary>
    public Action<HttpConnectionOptions>? ConfigureHttpConnection { get; init; }
}
