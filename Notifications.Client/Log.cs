using Microsoft.Extensions.Logging;

namespace Notifications.Client;

// Source-generated log messages. Only ids, counts and exception types: never tokens, titles or bodies.
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Connected to the notification hub; cursor {Cursor}")]
    public static partial void Connected(ILogger logger, long cursor);

    [LoggerMessage(2, LogLevel.Debug, "Dropped notification {Id}: already delivered or retracted")]
    public static partial void Duplicate(ILogger logger, long id);

    [LoggerMessage(3, LogLevel.Information, "Synced after {AfterId}: {Count} received, cursor now {Cursor}")]
    public static partial void Synced(ILogger logger, long afterId, int count, long cursor);

    [LoggerMessage(4, LogLevel.Warning, "Sync page claimed more items but did not advance past {AfterId}; stopping this sync")]
    public static partial void SyncStalled(ILogger logger, long afterId);

    [LoggerMessage(5, LogLevel.Warning, "Connection lost ({ErrorType}); reconnecting")]
    public static partial void Reconnecting(ILogger logger, string? errorType);

    [LoggerMessage(6, LogLevel.Warning, "Connection closed ({ErrorType}) without the app stopping it; restarting with a fresh token")]
    public static partial void ClosedByServer(ILogger logger, string? errorType);

    [LoggerMessage(7, LogLevel.Warning, "Restart attempt {Attempt} failed")]
    public static partial void RestartFailed(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(8, LogLevel.Warning, "Catch-up sync attempt {Attempt} failed; retrying")]
    public static partial void SyncFailed(ILogger logger, Exception exception, int attempt);

    [LoggerMessage(9, LogLevel.Information, "Catch-up sync interrupted ({ErrorType}); the next reconnect resumes it")]
    public static partial void SyncAbandoned(ILogger logger, string errorType);

    [LoggerMessage(10, LogLevel.Error, "A {EventName} handler threw; the event still counts as delivered")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, string eventName);

    [LoggerMessage(11, LogLevel.Debug, "Background work started: {Reason}")]
    public static partial void Background(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Error, "Background work failed: {Reason}")]
    public static partial void BackgroundFailed(ILogger logger, Exception exception, string reason);
}
